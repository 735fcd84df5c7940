"""The experiment tables driver.py runs: each a budget (images and epochs per stage) and rows. A row is one
model trained one way; it has a pre-training stage (MAE, a distillation) and the fine-tuning every row shares.
Stages named in `needs` run once per table (seed 0) and are shared by the rows that use them (the teacher)."""

# The fine-tuning recipe every row shares, and the tool's pre-training recipe (MAE's base lr, TinyMIM's
# crops); the budgets below set images and epochs only.
FINETUNE = ["--blr", "2e-3", "--layer-decay", "0.9", "--crop-scale", "0.8", "--label-smoothing", "0.1",
            "--drop-path", "0.1"]
PRETRAIN = ["--blr", "1e-3", "--crop-scale", "0.5"]


def stages(budget):
    """Shared stages: the MAE teacher (fm-small) and its fine-tuned classifier (the table's teacher row and
    DeiT's teacher)."""
    pre = ["--train-limit", str(budget["pre_images"]), "--epochs", str(budget["pre_epochs"]),
           "--batch", str(budget["batch"]), "--warmup-epochs", str(budget["warmup"])] + PRETRAIN
    return {
        "teacher_mae": ["pretrain", "--model", "fm-small"] + pre,
    }


def rows(budget):
    """Each row: its pre-training command (None: fine-tune the weights of the shared stage `from`) and the model
    fine-tuned. "{teacher_mae}" in a command is the shared teacher's weights file."""
    pre = ["--train-limit", str(budget["pre_images"]), "--epochs", str(budget["pre_epochs"]),
           "--batch", str(budget["batch"]), "--warmup-epochs", str(budget["warmup"])] + PRETRAIN
    distill = ["distill", "--teacher", "fm-small", "--teacher-weights", "{teacher_mae}", "--student", "fm-tiny"] + pre
    return {
        "teacher": {"pre": None, "from": "teacher_mae", "model": "fm-small"},
        "mae": {"pre": ["pretrain", "--model", "fm-tiny"] + pre, "model": "fm-tiny"},
        "tinymim": {"pre": distill + ["--target", "relation"], "model": "fm-tiny"},
        "tinymim_block4": {"pre": distill + ["--target", "relation", "--teacher-block", "4"], "model": "fm-tiny"},
        "feature": {"pre": distill + ["--target", "feature"], "model": "fm-tiny"},
        "cls": {"pre": distill + ["--target", "cls"], "model": "fm-tiny"},
        "masked": {"pre": distill + ["--target", "relation", "--input", "masked"], "model": "fm-tiny"},
        "relation_heads": {"pre": distill + ["--target", "relation-heads", "--relation-heads", "4"],
                           "model": "fm-tiny"},
    }


TABLES = {
    # Seconds per stage: the driver's own test (mechanics, not accuracy).
    "smoke": {"pre_images": 256, "pre_epochs": 1, "ft_images": 256, "ft_epochs": 1, "test_images": 256,
              "batch": 64, "warmup": 0.25, "rows": ["teacher", "mae", "tinymim"]},
    # The smoke table with 512 training images held out: choices' numbers on them, the test set once at the end.
    "smoke_holdout": {"pre_images": 256, "pre_epochs": 1, "ft_images": 256, "ft_epochs": 1, "test_images": 256,
                      "holdout": 512, "batch": 64, "warmup": 0.25, "rows": ["teacher", "mae", "tinymim"]},
    # The demo's quick profile (examples/tinymim/cmd_demo.cpp), every row.
    "quick": {"pre_images": 20000, "pre_epochs": 2, "ft_images": 15000, "ft_epochs": 2, "test_images": 0,
              "batch": 128, "warmup": 0.5,
              "rows": ["teacher", "mae", "tinymim", "tinymim_block4", "feature", "cls", "masked",
                       "relation_heads"]},
    # The quick budget with 5,000 training images held out (data/holdout.hpp: spread evenly, the same every run):
    # what chooses between rows (the teacher block, the demo's recipe) is the held-out accuracy.
    "quick_holdout": {"pre_images": 20000, "pre_epochs": 2, "ft_images": 15000, "ft_epochs": 2, "test_images": 0,
                      "holdout": 5000, "batch": 128, "warmup": 0.5,
                      "rows": ["teacher", "mae", "tinymim", "tinymim_block4", "feature", "cls", "masked",
                               "relation_heads"]},
}
