// dist::nccl on the GPU (nccl_cases.cu): a group of one — allreduce sum and average over float, double and
// bf16 device buffers, broadcast, barrier — and a one-rank data-parallel distillation through it, which must
// equal the same steps without it, and the recipe functions (train::distill, train::finetune) with it as
// task_options::device_comm, which must equal them without a group (NCCL refuses two ranks on one device, so one
// is what a one-GPU machine can run). Without a CUDA device the executable says so and exits with 77 (CTest: skipped).
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>

#include "nccl_cases.hpp"

namespace {
struct device_gate {
    device_gate() {
        if (!nccl_cases::device_present()) {
            std::printf("SKIPPED: no CUDA device here; the NCCL tests were compiled and need a GPU to run\n");
            std::fflush(stdout);
            std::_Exit(77);
        }
    }
};
}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(device_gate);

BOOST_AUTO_TEST_SUITE(dist_nccl)

BOOST_AUTO_TEST_CASE(one_rank_collectives_leave_the_values) {
    const auto r = nccl_cases::one_rank_collectives();
    BOOST_TEST(r.rank == 0);
    BOOST_TEST(r.size == 1);
    BOOST_TEST(r.sum == (std::vector<float>{1.5f, -2.0f, 3.25f}), boost::test_tools::per_element());
    BOOST_TEST(r.average == (std::vector<float>{1.5f, -2.0f, 3.25f}), boost::test_tools::per_element());
    BOOST_TEST(r.sum_double == (std::vector<double>{0.1, 1e300}), boost::test_tools::per_element());
    BOOST_TEST(r.bf16_sum == (std::vector<float>{0.5f, -3.0f}), boost::test_tools::per_element());
    BOOST_TEST(r.broadcast == (std::vector<unsigned char>{1, 2, 3, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(one_rank_data_parallel_distillation_equals_the_plain_one) {
    const auto r = nccl_cases::one_rank_distillation();
    BOOST_TEST(r.losses == r.one_losses, boost::test_tools::per_element());
    BOOST_TEST(r.weights == r.one_weights, boost::test_tools::per_element());
    BOOST_TEST(r.one_losses.front() != r.one_losses.back());  // it trained
}

BOOST_AUTO_TEST_CASE(the_recipe_functions_through_a_one_rank_nccl_group_equal_the_plain_ones) {
    for (const auto& r : {nccl_cases::one_rank_recipe_distillation(), nccl_cases::one_rank_recipe_finetuning()}) {
        BOOST_TEST(r.loss == r.one_loss);
        BOOST_TEST(r.weights == r.one_weights, boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_SUITE_END()
