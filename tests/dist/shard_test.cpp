// Data-parallel shards of the loader (data/shard.hpp): N ranks together render exactly the batch one
// process renders — the same images, labels and order, split into N consecutive slices —, every sample
// of an epoch once across the ranks (the tail that does not fill a global batch left out), a resume in the
// middle of an epoch exact on each rank, and the refusals.
#include "../support/common.hpp"
#include "../support/synthetic.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <string>

#include "tinymim/data/loader.hpp"

using namespace tinymim;
using images_t = shape<dyn, 1, 28, 28>;

namespace {
// The label names the sample.
data::image_dataset synthetic(std::size_t n) { return tt::synthetic_images(n, n); }

data::loader_options options(std::size_t ranks, std::size_t rank) {
    data::loader_options o;
    o.batch_size = 16;
    o.two_views = true;
    o.augment = {.random_crop = true, .flip = true, .brightness = 0.4, .contrast = 0.4};
    o.seed = 11;
    o.part = {rank, ranks};
    return o;
}

template <class F>
void expect_error(F f, const std::string& fragment) {
    try {
        f();
        BOOST_FAIL("expected a tinymim::error containing '" << fragment << "'");
    } catch (const tinymim::error& e) {
        BOOST_TEST(std::string(e.what()).find(fragment) != std::string::npos, e.what());
    }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(shard)

BOOST_AUTO_TEST_CASE(ranks_together_render_the_one_process_batch) {
    const auto d = synthetic(70);  // 4 global batches of 16, a tail of 6
    data::loader<images_t> whole(d, options(1, 0));
    for (const std::size_t ranks : {2u, 4u}) {
        for (const std::size_t epoch : {0u, 3u}) {
            for (std::size_t index = 0; index < whole.batches_per_epoch(); ++index) {
                const auto want = whole.make(epoch, index);
                for (std::size_t r = 0; r < ranks; ++r) {
                    data::loader<images_t> part(d, options(ranks, r));
                    BOOST_TEST(part.batches_per_epoch() == whole.batches_per_epoch());
                    const auto got = part.make(epoch, index);
                    const std::size_t local = 16 / ranks, px = 28 * 28;
                    BOOST_TEST_REQUIRE(got.labels.size() == local);
                    BOOST_TEST(got.offset == r * local);
                    BOOST_TEST(std::memcmp(got.images.data(), want.images.data() + r * local * px,
                                           local * px * sizeof(float)) == 0);
                    BOOST_TEST(std::memcmp(got.teacher_images.data(), want.teacher_images.data() + r * local * px,
                                           local * px * sizeof(float)) == 0);
                    for (std::size_t i = 0; i < local; ++i) BOOST_TEST(got.labels[i] == want.labels[r * local + i]);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(every_sample_once_per_epoch_across_ranks) {
    const auto d = synthetic(70);
    for (const std::size_t epoch : {0u, 1u}) {
        std::multiset<int> seen;
        for (std::size_t r = 0; r < 2; ++r) {
            data::loader<images_t> part(d, options(2, r));
            for (std::size_t i = 0; i < part.batches_per_epoch(); ++i) {
                const auto b = part.make(epoch, i);
                for (std::size_t j = 0; j < b.labels.size(); ++j) seen.insert(b.labels[j]);
            }
        }
        BOOST_TEST(seen.size() == 64u);  // 4 steps of 16; the 6 left over are another 6 each epoch
        BOOST_TEST(std::set<int>(seen.begin(), seen.end()).size() == seen.size());
    }
}

BOOST_AUTO_TEST_CASE(a_resume_in_the_middle_of_an_epoch_is_exact_on_each_rank) {
    const auto d = synthetic(70);
    for (std::size_t r = 0; r < 2; ++r) {
        data::loader<images_t> first(d, options(2, r)), resumed(d, options(2, r));
        first.start(0, 0);
        for (int i = 0; i < 2; ++i) (void)first.next();
        resumed.start(0, 2);           // from a checkpoint taken after two steps
        for (int i = 0; i < 5; ++i) {  // across the epoch's end
            const auto a = first.next(), b = resumed.next();
            BOOST_TEST(a.epoch == b.epoch);
            BOOST_TEST(a.index == b.index);
            BOOST_TEST(std::memcmp(a.images.data(), b.images.data(), a.images.size() * sizeof(float)) == 0);
        }
    }
}

BOOST_AUTO_TEST_CASE(refusals) {
    const auto d = synthetic(70);
    expect_error([&] { data::loader<images_t> l(d, options(3, 0)); }, "a global batch of 16 does not divide over 3");
    expect_error([&] { data::loader<images_t> l(d, options(2, 2)); }, "rank 2 is outside a group of 2");
    auto o = options(2, 0);
    o.drop_last = false;
    expect_error([&] { data::loader<images_t> l(d, o); }, "must drop the last partial batch");
}

BOOST_AUTO_TEST_SUITE_END()
