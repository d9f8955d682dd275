#!/usr/bin/env bash
# Evaluate a fine-tuned segmentor: the same mechanics as the detection script, reused as is.
exec bash "$(dirname "$0")/../mmdetection/slurm_test.sh" "$@"
