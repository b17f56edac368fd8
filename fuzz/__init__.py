"""Coverage-guided fuzzing of the verifier (atheris) and the target it drives; see fuzz/README.md."""
