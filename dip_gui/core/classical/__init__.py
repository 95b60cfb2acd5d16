"""Classical estimates the fast presets start from: non-local means, Wiener filtering, fills, upscales."""
