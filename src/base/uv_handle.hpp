// UvHandle<H>: the owner of one libuv handle. libuv handles may only be freed after the close
// callback ran, so the handle lives on the heap and is deleted by that callback; the owner
// object can be destroyed at any time (its `data` pointer is cleared first, so a callback that
// is already queued sees nullptr and must return).
#pragma once

#include <uv.h>

#include <utility>

namespace drove {

template <class H>
class UvHandle {
 public:
  UvHandle() = default;
  // Allocates the handle; the caller runs the matching uv_*_init on get().
  static UvHandle make() {
    UvHandle h;
    h.h_ = new H{};
    return h;
  }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  UvHandle(UvHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  UvHandle& operator=(UvHandle&& o) noexcept {
    if (this != &o) {
      close();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  ~UvHandle() { close(); }

  [[nodiscard]] H* get() const noexcept { return h_; }
  H* operator->() const noexcept { return h_; }
  explicit operator bool() const noexcept { return h_ != nullptr; }
  [[nodiscard]] uv_handle_t* handle() const noexcept { return reinterpret_cast<uv_handle_t*>(h_); }

  // Closes the handle (if initialised; a handle never initialised has a null loop) and frees it
  // once libuv is done with it.
  void close() noexcept {
    if (!h_) return;
    auto* base = reinterpret_cast<uv_handle_t*>(h_);
    base->data = nullptr;
    if (base->loop == nullptr) {
      delete h_;
    } else if (!uv_is_closing(base)) {
      uv_close(base, [](uv_handle_t* handle) { delete reinterpret_cast<H*>(handle); });
    }
    h_ = nullptr;
  }

 private:
  H* h_ = nullptr;
};

// Recovers the owner stored in handle->data; nullptr once the owner has gone.
template <class Owner, class H>
Owner* owner_of(H* handle) {
  return static_cast<Owner*>(reinterpret_cast<uv_handle_t*>(handle)->data);
}

}  // namespace drove
