// dist::mpi on the ranks mpirun starts (CTest: two): rank, size and the place on this machine, allreduce sum and
// average over float, double and bf16 (blocking, and started then waited for), the gradient reducer's means, broadcast,
// barrier, and a failed call's error naming the call and the rank. With TINYMIM_FAIL_RANK=r
// (tests/dist/failed_rank.cmake) rank r fails mid-run — through abort(), or killed by SIGKILL with
// TINYMIM_FAIL_HOW=kill — while the others wait in a collective: mpirun must end them all.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tinymim/dist/gradient_reducer.hpp"
#include "tinymim/nn/parameter.hpp"
#include "world.hpp"

using namespace tinymim;

using tt::world;

BOOST_AUTO_TEST_SUITE(dist_mpi)

BOOST_AUTO_TEST_CASE(a_failed_rank_ends_every_rank) {
    const char* fail = std::getenv("TINYMIM_FAIL_RANK");
    if (fail == nullptr) return;
    auto& c = world();
    std::vector<float> x(4, 1.0f);
    if (c.rank() == std::atoi(fail)) {
        const char* how = std::getenv("TINYMIM_FAIL_HOW");
        if (how != nullptr && std::string(how) == "kill") std::raise(SIGKILL);  // dies without a word
        if (how != nullptr && std::string(how) == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
        c.abort("a planted failure", 3);
    }
    c.allreduce(x.data(), x.size(), dist::reduce_op::sum);  // the others wait here for the failed rank
    BOOST_FAIL("rank " << c.rank() << " went past a collective that a failed rank never joined");
}

BOOST_AUTO_TEST_CASE(rank_and_size) {
    auto& c = world();
    BOOST_TEST(c.size() == 2);
    BOOST_TEST((c.rank() == 0 || c.rank() == 1));
    BOOST_TEST(dist::leads(c) == (c.rank() == 0));
}

BOOST_AUTO_TEST_CASE(on_one_machine_the_local_rank_is_the_rank) {
    auto& c = world();
    BOOST_TEST(c.local_rank() == c.rank());  // CTest's mpirun starts both ranks here: GPUs 0 and 1 of a node
}

BOOST_AUTO_TEST_CASE(allreduce_sum_and_average) {
    auto& c = world();
    const double r = c.rank();
    std::vector<float> f = {float(r + 1), float(-2 * r), 0.5f};
    c.allreduce(f.data(), f.size(), dist::reduce_op::sum);
    BOOST_TEST(f == (std::vector<float>{3.0f, -2.0f, 1.0f}), boost::test_tools::per_element());
    std::vector<double> d = {r + 1, 1e-12 * r};
    c.allreduce(d.data(), d.size(), dist::reduce_op::average);
    BOOST_TEST(d == (std::vector<double>{1.5, 0.5e-12}), boost::test_tools::per_element());
    // bf16: summed in float, rounded once (1 + 2^-7 on each rank sums to 2 + 2^-6, a bf16 value; 1 + 2^-8
    // and 2^-8 sum to 1 + 2^-7 exactly, where rounding each addend's partial sum to bf16 would give 1).
    std::vector<bf16> h = {bf16(1.0f + 1.0f / 128), bf16(float(r)), bf16(r == 0 ? 1.0f : 1.0f / 128)};
    c.allreduce(h.data(), h.size(), dist::reduce_op::sum);
    BOOST_TEST(float(h[0]) == 2.0f + 1.0f / 64);
    BOOST_TEST(float(h[1]) == 1.0f);
    BOOST_TEST(float(h[2]) == 1.0f + 1.0f / 128);
    std::vector<bf16> avg = {bf16(float(3 * r))};  // 0 and 3: 1.5
    c.allreduce(avg.data(), avg.size(), dist::reduce_op::average);
    BOOST_TEST(float(avg[0]) == 1.5f);
    std::vector<float> empty;
    c.allreduce(empty.data(), 0, dist::reduce_op::sum);
}

BOOST_AUTO_TEST_CASE(started_allreduces_finish_in_wait_all) {
    auto& c = world();
    const float r = float(c.rank());
    std::vector<float> f = {r + 1, 2 * r};
    std::vector<double> d = {10 * double(r), 1.0};
    std::vector<float> big(3 << 20, r);  // 12 MB: more than one protocol round
    c.start_allreduce(f.data(), f.size(), dist::reduce_op::sum);
    c.start_allreduce(d.data(), d.size(), dist::reduce_op::average);
    c.start_allreduce(big.data(), big.size(), dist::reduce_op::average);
    c.progress();
    c.wait_all();
    BOOST_TEST(f == (std::vector<float>{3.0f, 2.0f}), boost::test_tools::per_element());
    BOOST_TEST(d == (std::vector<double>{5.0, 1.0}), boost::test_tools::per_element());
    BOOST_TEST(big.front() == 0.5f);
    BOOST_TEST(big.back() == 0.5f);
    c.wait_all();  // nothing pending: returns at once
}

BOOST_AUTO_TEST_CASE(the_reducer_averages_and_keeps_what_no_rank_reached) {
    auto& c = world();
    // p0 reached on both ranks, p1 on rank 1 only, p2 on none.
    nn::parameter<shape<2>> p[3];
    std::vector<nn::param_ref<float>> refs;
    for (int i = 0; i < 3; ++i) {
        p[i].grad.fill(float(4 * (c.rank() + 1)));
        refs.push_back(p[i].ref("p" + std::to_string(i)));
    }
    p[0].has_grad = true;
    p[1].has_grad = c.rank() == 1;
    optim::adamw<float, cpu> opt(refs, {});
    dist::gradient_reducer<dist::mpi, float, cpu> r(c, opt, {.bucket_bytes = 8});
    BOOST_TEST(r.bucket_count() == 3u);
    if (c.rank() == 0) {  // the ranks report in different orders; the buckets still start in one
        r.gradient_final(p[0].grad.data());
        r.gradient_final(p[2].grad.data());
    } else {
        r.gradient_final(p[2].grad.data());
    }
    r.finish();
    BOOST_TEST(p[0].grad[1] == 6.0f);  // (4 + 8) / 2
    BOOST_TEST(p[1].grad[0] == 4.0f);  // (0 + 8) / 2
    BOOST_TEST(p[1].has_grad);
    BOOST_TEST(!p[2].has_grad);
}

BOOST_AUTO_TEST_CASE(broadcast_and_barrier) {
    auto& c = world();
    std::string s = c.rank() == 0 ? "from rank 0" : "xxxxxxxxxxx";
    c.broadcast(s.data(), s.size(), 0);
    BOOST_TEST(s == "from rank 0");
    c.barrier();
}

BOOST_AUTO_TEST_CASE(a_bad_root_names_the_call_and_the_rank) {
    auto& c = world();
    char b = 0;
    try {
        c.broadcast(&b, 1, 5);
        BOOST_FAIL("a broadcast from rank 5 of 2 was accepted");
    } catch (const tinymim::error& e) {
        const std::string m = e.what();
        BOOST_TEST(m.find("broadcast from rank 5 in a group of 2") != std::string::npos, m);
        BOOST_TEST(m.find("on rank " + std::to_string(c.rank())) != std::string::npos, m);
    }
}

BOOST_AUTO_TEST_SUITE_END()
