"""NVML: local NVIDIA GPU telemetry and power capping, plus a simulated pynvml for the demo."""
