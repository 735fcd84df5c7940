// data::hold_out: the held-out images are spread evenly (as many per class as the set has in proportion, even
// stored class by class), disjoint from the rest, the same on every call; streamed sets read the original's files.
#include <boost/test/unit_test.hpp>

#include <set>
#include <vector>

#include "tinymim/core/error.hpp"
#include "tinymim/data/holdout.hpp"

using namespace tinymim;

namespace {
// n one-pixel images whose pixel is their index (mod 256) and whose label is their class, stored class by class.
data::image_dataset sorted_set(std::size_t per_class, std::size_t classes) {
    data::image_dataset d;
    d.height = d.width = 1;
    for (std::size_t c = 0; c < classes; ++c)
        for (std::size_t i = 0; i < per_class; ++i) {
            d.pixels.push_back(static_cast<std::uint8_t>(d.labels.size() % 256));
            d.labels.push_back(static_cast<std::int32_t>(c));
        }
    d.classes.assign(classes, "c");
    return d;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(holdout)

BOOST_AUTO_TEST_CASE(held_out_images_are_spread_over_the_classes_and_disjoint_from_training) {
    const auto d = sorted_set(100, 10);  // 1,000 images, class by class
    const auto s = data::hold_out(d, 100);
    BOOST_TEST(s.held_out.size() == 100u);
    BOOST_TEST(s.train.size() == 900u);
    BOOST_TEST(s.train.pixels.size() == 900u);
    std::vector<int> per_class(10, 0);
    for (auto l : s.held_out.labels) ++per_class[static_cast<std::size_t>(l)];
    for (int n : per_class) BOOST_TEST(n == 10);
    // Every original image is in exactly one part (pixels are indices mod 256, labels tell the block of 100).
    std::multiset<std::pair<std::int32_t, int>> all;
    for (const auto* p : {&s.train, &s.held_out})
        for (std::size_t i = 0; i < p->size(); ++i) all.insert({p->labels[i], p->image(i)[0]});
    std::multiset<std::pair<std::int32_t, int>> want;
    for (std::size_t i = 0; i < d.size(); ++i) want.insert({d.labels[i], d.image(i)[0]});
    BOOST_TEST((all == want));
    // Training keeps the original order.
    for (std::size_t i = 1; i < s.train.size(); ++i) BOOST_TEST(s.train.labels[i - 1] <= s.train.labels[i]);
    // The same split every time.
    const auto again = data::hold_out(d, 100);
    BOOST_TEST(again.held_out.pixels == s.held_out.pixels);
}

BOOST_AUTO_TEST_CASE(a_streamed_set_stays_streamed_and_reads_the_right_files) {
    data::image_dataset d;
    d.height = d.width = 1;
    d.labels.resize(10);
    for (std::size_t i = 0; i < 10; ++i) d.labels[i] = static_cast<std::int32_t>(i);
    d.read = [](std::size_t i, data::planar_image& img) {
        img.height = img.width = 1;
        img.pixels.assign(1, static_cast<std::uint8_t>(i));
    };
    const auto s = data::hold_out(d, 3);  // images 1, 5 and 8
    BOOST_REQUIRE(s.held_out.streamed());
    BOOST_REQUIRE(s.train.streamed());
    BOOST_TEST(s.held_out.pixels.empty());
    data::planar_image img;
    for (std::size_t k = 0; k < 3; ++k) {
        s.held_out.read(k, img);
        BOOST_TEST(img.pixels[0] == s.held_out.labels[k]);
    }
    BOOST_TEST((s.held_out.labels == std::vector<std::int32_t>{1, 5, 8}));
    s.train.read(6, img);
    BOOST_TEST(img.pixels[0] == 9);  // 0 2 3 4 6 7 9
}

BOOST_AUTO_TEST_CASE(holding_out_nothing_or_everything_is_an_error) {
    const auto d = sorted_set(5, 2);
    BOOST_CHECK_THROW((void)data::hold_out(d, 0), tinymim::error);
    BOOST_CHECK_THROW((void)data::hold_out(d, 10), tinymim::error);
}

BOOST_AUTO_TEST_SUITE_END()
