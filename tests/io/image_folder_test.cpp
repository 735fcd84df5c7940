// ImageFolder streamed (io::stream_image_folder) and loaded (io::load_image_folder): the same classes and labels;
// a streamed set holds no pixels and decodes each image in the loader, at its own size — random crops are taken
// from the original, as torchvision's RandomResizedCrop — and its plain batches match the loaded set's to the
// loaded set's 8-bit rounding; several workers render the same batches as one; a broken file is an error that
// names it when its batch is made.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "tinymim/data/loader.hpp"
#include "tinymim/io/image_folder.hpp"

using namespace tinymim;
namespace fs = std::filesystem;
using images_t = shape<dyn, 3, 8, 8>;

namespace {
const fs::path fixtures = fs::path(TINYMIM_FIXTURES) / "images";

// Two classes of 17 x 13 fixture images: "a" two PNGs, "b" three JPEGs (one of them CMYK).
fs::path make_folder(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("tinymim_image_folder_" + name);
    fs::remove_all(d);
    fs::create_directories(d / "a");
    fs::create_directories(d / "b");
    fs::copy_file(fixtures / "rgb.png", d / "a" / "1.png");
    fs::copy_file(fixtures / "palette.png", d / "a" / "2.PNG");
    fs::copy_file(fixtures / "rgb.jpg", d / "b" / "1.jpg");
    fs::copy_file(fixtures / "progressive.jpg", d / "b" / "2.jpeg");
    fs::copy_file(fixtures / "cmyk.jpg", d / "b" / "3.jpg");
    return d;
}

data::loader_options plain(std::size_t workers) {
    return {.batch_size = 5, .shuffle = false, .drop_last = false, .seed = 3, .workers = workers};
}
data::loader_options cropped(std::size_t workers) {
    return {.batch_size = 5,
            .augment = {.random_crop = true, .flip = true, .brightness = 0.3},
            .seed = 3,
            .workers = workers};
}

std::vector<float> values(const data::batch<images_t>& b) {
    return {b.images.data(), b.images.data() + b.images.size()};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(image_folder)

BOOST_AUTO_TEST_CASE(a_streamed_folder_holds_names_not_pixels) {
    const auto dir = make_folder("names");
    const auto s = io::stream_image_folder(dir, 3, 8);
    const auto l = io::load_image_folder(dir, 3, 8);
    BOOST_TEST(s.streamed());
    BOOST_TEST(!l.streamed());
    BOOST_TEST(s.pixels.empty());
    BOOST_TEST(l.pixels.size() == 5u * 3 * 8 * 8);
    BOOST_TEST(s.classes == l.classes, boost::test_tools::per_element());
    BOOST_TEST(s.labels == l.labels, boost::test_tools::per_element());
    BOOST_TEST(s.labels == (std::vector<std::int32_t>{0, 0, 1, 1, 1}), boost::test_tools::per_element());
    data::planar_image im;
    s.read(4, im);  // the CMYK JPEG, at its own size
    BOOST_TEST(im.height == 13u);
    BOOST_TEST(im.width == 17u);
    BOOST_TEST(im.pixels.size() == 3u * 13 * 17);
}

BOOST_AUTO_TEST_CASE(plain_batches_match_the_loaded_set_to_its_rounding) {
    const auto dir = make_folder("plain");
    const auto s = io::stream_image_folder(dir, 3, 8);
    const auto l = io::load_image_folder(dir, 3, 8);
    const auto bs = data::loader<images_t>(s, plain(1)).make(0, 0);
    const auto bl = data::loader<images_t>(l, plain(1)).make(0, 0);
    const auto vs = values(bs), vl = values(bl);
    BOOST_REQUIRE(vs.size() == vl.size());
    double worst = 0;
    for (std::size_t i = 0; i < vs.size(); ++i) worst = std::max(worst, double(std::abs(vs[i] - vl[i])));
    // The loaded set rounds each resized pixel to 8 bits: at most half a step, over the smallest std.
    BOOST_TEST(worst <= 0.5 / 255 / 0.224 + 1e-6);
    BOOST_TEST(worst > 0.0);  // the two paths are not the same code
}

BOOST_AUTO_TEST_CASE(random_crops_come_from_the_original_image) {
    const auto dir = make_folder("crops");
    const auto s = io::stream_image_folder(dir, 3, 8);
    const auto o = cropped(1);
    data::loader<images_t> ld(s, o);
    const auto b = ld.make(1, 0);
    // Rebuild sample 0 by hand from the decoded 17 x 13 file: the crop box is drawn on 13 x 17, not 8 x 8.
    bool matched = false;
    for (std::size_t i = 0; i < s.size() && !matched; ++i) {  // whichever image the shuffle put first
        data::planar_image im;
        s.read(i, im);
        const counter_rng r = counter_rng(o.seed).fork(1).fork(1 + i);
        const auto box = data::sample_crop(im.height, im.width, o.augment, r);
        std::vector<float> want(3 * 8 * 8);
        data::render(im.pixels.data(), 3, im.height, im.width, box, 8, 8, o.augment, r.fork(1), s.mean, s.std,
                     want.data());
        matched = std::equal(want.begin(), want.end(), b.images.data());
    }
    BOOST_TEST(matched);
}

BOOST_AUTO_TEST_CASE(evaluation_takes_the_central_square_as_timm_does) {
    const auto dir = make_folder("center");
    const auto s = io::stream_image_folder(dir, 3, 8);
    BOOST_TEST(s.eval_center_crop == 0.875);
    // The box: 87.5 % of the shorter side (13 of 17 x 13), centred; a square, so no stretching.
    data::augment_options o{.center_crop = s.eval_center_crop};
    const auto box = data::sample_crop(13, 17, o, counter_rng(0));
    BOOST_TEST(box.height == 0.875 * 13);
    BOOST_TEST(box.width == 0.875 * 13);
    BOOST_TEST(box.top == (13 - 0.875 * 13) / 2);
    BOOST_TEST(box.left == (17 - 0.875 * 13) / 2);
    // A plain batch with it is that box of each decoded file, rendered at 8 x 8.
    const auto b =
        data::loader<images_t>(s, {.batch_size = 5, .shuffle = false, .drop_last = false, .augment = o}).make(0, 0);
    for (std::size_t i = 0; i < s.size(); ++i) {
        data::planar_image im;
        s.read(i, im);
        const counter_rng r = counter_rng(0).fork(0).fork(1 + i);
        std::vector<float> want(3 * 8 * 8);
        data::render(im.pixels.data(), 3, im.height, im.width, data::sample_crop(im.height, im.width, o, r), 8, 8, o,
                     r.fork(1), s.mean, s.std, want.data());
        BOOST_TEST(std::equal(want.begin(), want.end(), b.images.data() + i * want.size()));
    }
    // Without it the whole image is stretched to 8 x 8: other pixels.
    const auto whole = data::loader<images_t>(s, plain(1)).make(0, 0);
    BOOST_TEST(values(whole) != values(b));
    o.center_crop = 1.5;
    BOOST_CHECK_THROW((data::loader<images_t>(s, {.batch_size = 5, .augment = o})), tinymim::error);
}

BOOST_AUTO_TEST_CASE(several_workers_render_the_same_batches) {
    const auto dir = make_folder("workers");
    const auto s = io::stream_image_folder(dir, 3, 8);
    const auto l = io::load_image_folder(dir, 3, 8);
    for (const auto* d : {&s, &l})
        for (std::size_t e = 0; e < 2; ++e) {
            const auto one = data::loader<images_t>(*d, cropped(1)).make(e, 0);
            const auto three = data::loader<images_t>(*d, cropped(3)).make(e, 0);
            BOOST_TEST(values(one) == values(three), boost::test_tools::per_element());
        }
}

BOOST_AUTO_TEST_CASE(a_broken_file_is_named_when_its_batch_is_made) {
    const auto dir = make_folder("broken");
    fs::copy_file(fixtures / "truncated.jpg", dir / "b" / "4.jpg");
    const auto s = io::stream_image_folder(dir, 3, 8);  // listing reads no pixels
    BOOST_TEST(s.size() == 6u);
    for (std::size_t workers : {1, 2}) {
        data::loader<images_t> ld(s, plain(workers));
        try {
            (void)ld.next();  // images 0-4
            (void)ld.next();  // image 5, the broken one
            BOOST_FAIL("a truncated JPEG made a batch");
        } catch (const tinymim::error& e) {
            BOOST_TEST(std::string(e.what()).find("4.jpg") != std::string::npos, e.what());
        }
    }
    BOOST_CHECK_THROW((void)io::stream_image_folder(dir / "nothing", 3, 8), tinymim::error);
}

BOOST_AUTO_TEST_SUITE_END()
