#!/usr/bin/env bash
# `tinymim finetune --data <ImageFolder>` end to end: a folder of PNG and JPEG files (train/ and test/, two classes,
# images larger than the model's 224 x 224 and of two shapes) streamed by two workers, then `eval` of the result;
# a broken file stops the run with an error that names it.
#   image_folder.sh <tinymim> <fixtures/images> <work folder>
set -uo pipefail
tool=$1 images=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
python3 - "$work/data" <<'PY' || fail "could not write the image folder"
import os, struct, sys, zlib
root = sys.argv[1]
def png(path, w, h, seed):  # an RGB PNG of w x h with a pattern that depends on the seed
    raw = b"".join(b"\0" + bytes(((x * seed + y * 7) % 256, (x + y * seed) % 256, (x * y + seed) % 256)
                                  [c] for x in range(w) for c in range(3)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for split, n in (("train", 4), ("test", 2)):
    for c, cls in enumerate(("cats", "dogs")):
        os.makedirs(f"{root}/{split}/{cls}", exist_ok=True)
        for i in range(n):
            png(f"{root}/{split}/{cls}/{i}.png", 300 if i % 2 else 240, 260, 3 + c * 10 + i)
PY
cp "$images/rgb.jpg" "$work/data/train/cats/small.jpg"
common=(--data "$work/data" --epochs 1 --batch 3 --threads 2 --workers 2 --no-plots --out "$work")
"$tool" finetune --model vit-tiny --classes 10 "${common[@]}" --name ft > "$work/ft.out" 2> "$work/ft.err" ||
  { tail -n 5 "$work/ft.err"; fail "fine-tuning on the image folder failed"; }
grep -q "finetune: test top-1" "$work/ft.out" || fail "no test accuracy: $(tail -n 3 "$work/ft.out")"
tail -n 1 "$work/ft_metrics.csv" | grep -q "^3," || fail "not 3 steps of 3 of the 9 images: $(tail -n 1 "$work/ft_metrics.csv")"
"$tool" eval --model vit-tiny --classes 10 --weights "$work/ft.safetensors" --data "$work/data" --workers 2 > "$work/eval.out" 2>&1 ||
  { tail -n 5 "$work/eval.out"; fail "eval on the image folder failed"; }
grep -q "4 images" "$work/eval.out" || fail "eval did not read the 4 test images: $(tail -n 3 "$work/eval.out")"
cp "$images/truncated.jpg" "$work/data/train/dogs/broken.jpg"
"$tool" finetune --model vit-tiny --classes 10 "${common[@]}" --name broken > "$work/broken.out" 2>&1 &&
  fail "a truncated JPEG in the folder went unnoticed"
grep -q "broken.jpg" "$work/broken.out" || fail "the error does not name the file: $(tail -n 3 "$work/broken.out")"
echo "streamed an image folder through fine-tuning and eval; a broken file named"
