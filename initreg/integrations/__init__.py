"""initreg inside other training loops.

- `initreg.integrations.lightning`: Lightning callbacks — init at ``setup``, the probe with
  its verdicts, weight and activity penalties, Prechelt early stopping (``pip install
  'initreg[lightning]'``).
- `initreg.integrations.hf`: a Hugging Face ``TrainerCallback`` — the probe and weight
  penalties (``pip install 'initreg[hf]'``).

Import the submodule you need; this package imports neither library.
"""

__all__: list[str] = []
