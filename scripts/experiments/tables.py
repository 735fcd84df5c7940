"""The experiment tables driver.py runs: each a budget (images and epochs per stage) and rows. A row is one
model trained one way; it has a pre-training stage (MAE, a distillation) and the fine-tuning common to every row.
Table-wide stages (`stages`) run once per table (seed 0), for every row that uses them (the teacher)."""

# The fine-tuning recipe every row shares, and the tool's pre-training recipe (MAE's base lr, TinyMIM's
# crops); the budgets below set images and epochs only.
FINETUNE = ["--blr", "2e-3", "--layer-decay", "0.9", "--crop-scale", "0.8", "--label-smoothing", "0.1",
            "--drop-path", "0.1"]
PRETRAIN = ["--blr", "1e-3", "--crop-scale", "0.5"]


def pretraining(budget, epochs=None):
    return ["--train-limit", str(budget["pre_images"]), "--epochs", str(epochs or budget["pre_epochs"]),
            "--batch", str(budget["batch"]), "--warmup-epochs", str(budget["warmup"])] + PRETRAIN


def with_option(cmd, flag, value):
    """cmd with flag's value replaced (the tool takes each option once)."""
    i = cmd.index(flag)
    return cmd[:i + 1] + [value] + cmd[i + 2:]


def finetuning(budget):
    """The fine-tuning every row ends with (and the teacher classifier's)."""
    return ["--train-limit", str(budget["ft_images"]), "--epochs", str(budget["ft_epochs"]),
            "--batch", str(budget["batch"]), "--warmup-epochs", str(budget["warmup"]),
            "--test-limit", str(budget["test_images"])] + FINETUNE


def stages(budget):
    """Shared stages, run once per table (seed 0); "{key}" in a command is another stage's weights file. The MAE
    teacher (fm-small) and its fine-tuned classifier (DeiT's teacher); for sequential distillation an fm-base MAE
    and an fm-small distilled from it by TinyMIM. The teachers' MAE pre-training takes `teacher_pre_epochs` when the
    budget sets it (a stronger teacher over the same images), the students' `pre_epochs`."""
    pre = pretraining(budget)
    teacher_pre = pretraining(budget, budget.get("teacher_pre_epochs"))
    return {
        "teacher_mae": ["pretrain", "--model", "fm-small"] + teacher_pre,
        "teacher_ft": ["finetune", "--model", "fm-small", "--weights", "{teacher_mae}"] + finetuning(budget),
        "base_mae": ["pretrain", "--model", "fm-base"] + teacher_pre,
        "small_from_base": ["distill", "--teacher", "fm-base", "--teacher-weights", "{base_mae}", "--student",
                            "fm-small", "--target", "relation"] + pre,
    }


def rows(budget):
    """Each row: its pre-training command (None: fine-tune the weights of the table-wide stage `from`), the model
    fine-tuned, and what its fine-tuning adds to the common recipe (`ft_extra`). "{key}" in a command is a table-wide
    stage's weights file."""
    pre = pretraining(budget)
    distill = ["distill", "--teacher", "fm-small", "--teacher-weights", "{teacher_mae}", "--student", "fm-tiny"] + pre
    mae = ["pretrain", "--model", "fm-tiny"] + pre
    tinymim = distill + ["--target", "relation"]
    block4 = tinymim + ["--teacher-block", "4"]
    return {
        "teacher": {"pre": None, "from": "teacher_mae", "model": "fm-small"},
        "mae": {"pre": mae, "model": "fm-tiny"},
        "tinymim": {"pre": tinymim, "model": "fm-tiny"},
        "tinymim_block4": {"pre": block4, "model": "fm-tiny"},
        # The distillation's base learning rate halved and doubled (the recipe's: 1e-3).
        "tinymim_blr5e-4": {"pre": with_option(tinymim, "--blr", "5e-4"), "model": "fm-tiny"},
        "tinymim_blr2e-3": {"pre": with_option(tinymim, "--blr", "2e-3"), "model": "fm-tiny"},
        "feature": {"pre": distill + ["--target", "feature"], "model": "fm-tiny"},
        "cls": {"pre": distill + ["--target", "cls"], "model": "fm-tiny"},
        "masked": {"pre": distill + ["--target", "relation", "--input", "masked"], "model": "fm-tiny"},
        "relation_heads": {"pre": distill + ["--target", "relation-heads", "--relation-heads", "4"],
                           "model": "fm-tiny"},
        # fm-base -> fm-small -> fm-tiny, each step TinyMIM from the last block.
        "sequential": {"pre": ["distill", "--teacher", "fm-small", "--teacher-weights", "{small_from_base}",
                               "--student", "fm-tiny", "--target", "relation"] + pre, "model": "fm-tiny"},
        # MAE from scratch, then fine-tuned with DeiT's hard distillation from the fine-tuned teacher.
        "deit": {"pre": mae, "model": "fm-tiny",
                 "ft_extra": ["--distill", "hard", "--teacher", "fm-small", "--teacher-weights", "{teacher_ft}"]},
    }


TABLES = {
    # Seconds per stage: the driver's own test (mechanics, not accuracy).
    "smoke": {"pre_images": 256, "pre_epochs": 1, "ft_images": 256, "ft_epochs": 1, "test_images": 256,
              "batch": 64, "warmup": 0.25, "rows": ["teacher", "mae", "tinymim", "sequential", "deit"]},
    # The smoke table with 512 training images held out: choices' numbers on them, the test set once at the end.
    "smoke_holdout": {"pre_images": 256, "pre_epochs": 1, "ft_images": 256, "ft_epochs": 1, "test_images": 256,
                      "holdout": 512, "batch": 64, "warmup": 0.25, "rows": ["teacher", "mae", "tinymim"]},
    # The demo's quick profile (examples/tinymim/cmd_demo.cpp), every row.
    "quick": {"pre_images": 20000, "pre_epochs": 2, "ft_images": 15000, "ft_epochs": 2, "test_images": 0,
              "batch": 128, "warmup": 0.5,
              "rows": ["teacher", "mae", "tinymim", "tinymim_block4", "feature", "cls", "masked",
                       "relation_heads", "sequential", "deit"]},
    # The quick budget with 5,000 training images held out (data/holdout.hpp: spread evenly, the same every run):
    # what chooses between rows (the teacher block, the demo's recipe) is the held-out accuracy.
    "quick_holdout": {"pre_images": 20000, "pre_epochs": 2, "ft_images": 15000, "ft_epochs": 2, "test_images": 0,
                      "holdout": 5000, "batch": 128, "warmup": 0.5,
                      "rows": ["teacher", "mae", "tinymim", "tinymim_block4", "feature", "cls", "masked",
                               "relation_heads", "sequential", "deit", "tinymim_blr5e-4", "tinymim_blr2e-3"]},
    # The quick table with teacher6_holdout's stronger teacher, on the test set: what the demo's recipe gives.
    "teacher6": {"pre_images": 20000, "pre_epochs": 2, "teacher_pre_epochs": 6, "ft_images": 15000, "ft_epochs": 2,
                 "test_images": 0, "batch": 128, "warmup": 0.5,
                 "rows": ["teacher", "mae", "tinymim", "tinymim_block4"], "borrow": {"mae": "quick"}},
    # What a stronger teacher does: quick_holdout with the teacher's MAE pre-training three times as long (6
    # epochs over the same 20,000 images); the students' budget unchanged.
    # MAE from scratch does not depend on the teacher: its results are quick_holdout's (the same commands).
    "teacher6_holdout": {"pre_images": 20000, "pre_epochs": 2, "teacher_pre_epochs": 6, "ft_images": 15000,
                         "ft_epochs": 2, "test_images": 0, "holdout": 5000, "batch": 128, "warmup": 0.5,
                         "rows": ["teacher", "mae", "tinymim", "tinymim_block4"], "borrow": {"mae": "quick_holdout"}},
}


# The paper's claims, each as (claim, the row it says is better, the row it says is worse): `report` gives the
# paired difference (same seed) and a verdict from its 95 % t-interval.
CLAIMS = [
    ("relation > feature", "tinymim", "feature"),
    ("feature > CLS", "feature", "cls"),
    ("relation > CLS", "tinymim", "cls"),
    ("intermediate teacher block > last (block 4 of 6)", "tinymim_block4", "tinymim"),
    ("raw input > masked input", "tinymim", "masked"),
    ("sequential > direct", "sequential", "tinymim"),
    ("TinyMIM > MAE from scratch (last block)", "tinymim", "mae"),
    ("TinyMIM > MAE from scratch (block 4)", "tinymim_block4", "mae"),
]
