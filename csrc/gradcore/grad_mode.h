// Grad mode: a per-thread switch that decides whether ops record the autograd graph.
#pragma once

namespace gradcore {

/// Thread-local grad mode (on by default in every thread, as in PyTorch).
struct GradMode {
  /// Whether ops on this thread record history.
  static bool is_enabled();
  /// Turns recording on or off for this thread.
  static void set_enabled(bool enabled);
};

/// Thread-local inference mode: grad mode off, and tensors made inside are "inference tensors" that
/// autograd refuses to save or see modified in place later (torch.inference_mode).
struct InferenceMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// Sets grad mode for a scope and restores the previous mode on exit (no_grad / enable_grad).
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(GradMode::is_enabled()) {
    GradMode::set_enabled(enabled);
  }
  ~GradModeGuard() { GradMode::set_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace gradcore
