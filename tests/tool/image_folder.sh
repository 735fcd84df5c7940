#!/usr/bin/env bash
# `tinymim finetune --data <ImageFolder>` end to end: a folder of PNG and JPEG files (train/ and test/, two classes)
# streamed by two workers, then `eval` of the result; the same with 3 training images held out (--holdout) and
# measured on; a broken file stops the run with an error that names it.
#   image_folder.sh <tinymim> <fixtures/images> <work folder>
set -uo pipefail
tool=$1 images=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
# Train: 5 cats and 4 dogs, test: 2 of each, from the 17 x 13 fixtures (PNG and JPEG: RGB, palette, grey,
# RGBA, progressive, CMYK), so every decode path is streamed and upsampled to 224 x 224.
for d in train/cats train/dogs test/cats test/dogs; do mkdir -p "$work/data/$d"; done
i=0
for f in rgb.png palette.png grey.png rgba.png rgb.jpg progressive.jpg cmyk.jpg grey.jpg grey16.png; do
  cls=cats; ((i % 2)) && cls=dogs
  cp "$images/$f" "$work/data/train/$cls/$i.${f##*.}"
  i=$((i + 1))
done
cp "$images/rgb.png" "$work/data/test/cats/a.png"; cp "$images/cmyk.jpg" "$work/data/test/cats/b.jpg"
cp "$images/rgb.jpg" "$work/data/test/dogs/a.jpg"; cp "$images/palette.png" "$work/data/test/dogs/b.png"
common=(--data "$work/data" --epochs 1 --batch 3 --threads 2 --workers 2 --no-plots --out "$work")
"$tool" finetune --model vit-tiny --classes 10 "${common[@]}" --name ft > "$work/ft.out" 2> "$work/ft.err" ||
  { tail -n 5 "$work/ft.err"; fail "fine-tuning on the image folder failed"; }
grep -q "finetune: test top-1" "$work/ft.out" || fail "no test accuracy: $(tail -n 3 "$work/ft.out")"
tail -n 1 "$work/ft_metrics.csv" | grep -q "^3," || fail "not 3 steps of 3 of the 9 images: $(tail -n 1 "$work/ft_metrics.csv")"
"$tool" eval --model vit-tiny --classes 10 --weights "$work/ft.safetensors" --data "$work/data" --workers 2 > "$work/eval.out" 2>&1 ||
  { tail -n 5 "$work/eval.out"; fail "eval on the image folder failed"; }
grep -q "4 images" "$work/eval.out" || fail "eval did not read the 4 test images: $(tail -n 3 "$work/eval.out")"
# --holdout 3: 3 of the 9 training images (both classes) leave training and are what finetune and eval measure.
"$tool" finetune --model vit-tiny --classes 10 "${common[@]}" --holdout 3 --name ho > "$work/ho.out" 2> "$work/ho.err" ||
  { tail -n 5 "$work/ho.err"; fail "fine-tuning with --holdout failed"; }
grep -q "finetune: holdout top-1 .* on 3 images" "$work/ho.out" || fail "not measured on the 3 held-out images: $(cat "$work/ho.out")"
tail -n 1 "$work/ho_metrics.csv" | grep -q "^2," || fail "not 2 steps of 3 of the 6 images left: $(tail -n 1 "$work/ho_metrics.csv")"
[[ $(head -n 1 "$work/ho_eval.csv") == "epoch,holdout_accuracy,holdout_loss" ]] || fail "ho_eval.csv: $(head -n 1 "$work/ho_eval.csv")"
"$tool" eval --model vit-tiny --classes 10 --weights "$work/ho.safetensors" --data "$work/data" --holdout 3 > "$work/ho_eval.out" 2>&1 ||
  { tail -n 5 "$work/ho_eval.out"; fail "eval --holdout failed"; }
grep -q "eval: holdout top-1 .* on 3 images" "$work/ho_eval.out" || fail "eval --holdout: $(tail -n 3 "$work/ho_eval.out")"
cp "$images/truncated.jpg" "$work/data/train/dogs/broken.jpg"
"$tool" finetune --model vit-tiny --classes 10 "${common[@]}" --name broken > "$work/broken.out" 2>&1 &&
  fail "a truncated JPEG in the folder went unnoticed"
grep -q "broken.jpg" "$work/broken.out" || fail "the error does not name the file: $(tail -n 3 "$work/broken.out")"
echo "streamed an image folder through fine-tuning and eval, with and without a held-out split; a broken file named"
