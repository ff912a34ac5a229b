// job.hpp — jobs (named functions a worker can run) and exception types that cross the
// process boundary as themselves.
//
//   // at namespace scope, in a file linked into both the parent and the worker executable:
//   isolate::Job<std::string, nlohmann::json> parse_json("parse-json", [](const std::string& text) {
//     return nlohmann::json::parse(text);
//   });
//   struct QuotaExceeded : std::runtime_error { using std::runtime_error::runtime_error; };
//   isolate::ExceptionType<QuotaExceeded> quota_exceeded("QuotaExceeded");
#pragma once

#include <isolate/detail/byte_views.hpp>
#include <isolate/detail/codec.hpp>
#include <isolate/detail/exception_registry.hpp>
#include <isolate/detail/input_holder.hpp>
#include <isolate/detail/job_registry.hpp>
#include <isolate/job_context.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <typeindex>
#include <utility>

namespace isolate {

/// A named job: a function from In to Out that both the parent and the worker executable know.
/// In and Out: std::string or std::vector<std::uint8_t> (bytes, passed raw), nlohmann::json, or
/// any type with nlohmann to_json/from_json (default-constructible for from_json).
///
/// Zero-copy bytes: In may be std::string_view or std::span<const std::uint8_t>. The worker's job
/// then reads the request in place in shared memory, without a copy (valid until the job
/// returns). The caller may pass a view (its bytes need only live during the run() call) or hand
/// over the owned buffer (std::string / std::vector<std::uint8_t>, moved in).
/// Out may be one of those views too, pointing into the job's input or into memory that outlives
/// the call: a view into the input travels back in place, without a copy; any other view is
/// copied. Outside the job a view output is its owned buffer (Result: std::string for
/// std::string_view, std::vector<std::uint8_t> for the span), e.g. an echo that moves a 256 MiB
/// buffer in and gets it back copies it only into and out of shared memory:
///
///   isolate::Job<std::span<const std::uint8_t>, std::span<const std::uint8_t>> body("body",
///       [](std::span<const std::uint8_t> in) {             // no copy in the worker
///         return in.subspan(std::min<std::size_t>(16, in.size()));
///       });
///   std::vector<std::uint8_t> out = pool.run(body, std::move(buffer)).get();
///
/// Define it once at namespace scope; its constructor registers it by name. A duplicate name is
/// a start-up error: the program prints a message naming the job and exits with status 70.
/// Not copyable or movable (the registration is tied to the object). Thread safety: name() and
/// function() may be called from any thread.
template <class In, class Out>
class Job {
 public:
  using Input = In;
  using Output = Out;
  /// What run() delivers: Out, or for a view Out its owned buffer.
  using Result = detail::owned_t<Out>;
  using Function = std::function<Out(const In&, JobContext&)>;

  /// (Out a view) A job from a callable that returns exactly Out, taking (const In&) or
  /// (const In&, JobContext&). A callable returning an owned buffer instead (a std::string for a
  /// std::string_view Out) would hand back a view of a temporary that is gone once it returns,
  /// so it does not compile. (A std::function already holding such a callable cannot be told
  /// apart: pass the callable itself.)
  template <class F>
  requires(detail::is_view_v<Out> &&
           (std::is_invocable_v<const F&, const In&> || std::is_invocable_v<const F&, const In&, JobContext&>))
      Job(std::string name, F fn)
      : Job(std::move(name), view_function(std::move(fn))) {}

  /// Any other callable: not a job function. Stops the build with one message instead of the
  /// overload resolution's dozens of lines.
  template <class F>
  requires(!detail::is_view_v<Out> && !std::is_invocable_r_v<Out, F&, const In&> &&
           !std::is_invocable_r_v<Out, F&, const In&, JobContext&>) ||
      (detail::is_view_v<Out> && !std::is_invocable_v<const F&, const In&> &&
       !std::is_invocable_v<const F&, const In&, JobContext&>)Job(const std::string&, F) {
    static_assert(sizeof(F) == 0,
                  "isolate::Job<In, Out>: the function must be callable as Out(const In&) or "
                  "Out(const In&, isolate::JobContext&), with the job's own In and Out");
  }

  /// A job that ignores its context.
  Job(std::string name, std::function<Out(const In&)> fn)
      : Job(std::move(name), Function([fn = std::move(fn)](const In& in, JobContext&) { return fn(in); })) {}

  /// A job that may check JobContext::stop_requested() (thread backend).
  Job(std::string name, Function fn) : name_(std::move(name)), fn_(std::make_shared<const Function>(std::move(fn))) {
    auto entry = std::make_shared<detail::JobEntry>();
    entry->input_tag = detail::Codec<In>::tag;
    entry->run = [fn = fn_](std::span<const std::byte> input, detail::ByteWriter& output, JobContext& context) {
      const In decoded = detail::Codec<In>::decode(input);
      if constexpr (detail::is_view_v<Out>) {
        const Out out = (*fn)(decoded, context);
        const auto bytes = std::as_bytes(std::span(out.data(), out.size()));
        if (output.refer(bytes)) return true;
        if (output.overlaps(bytes)) {
          // In the segment but where the response record goes: copy it out first (writing may
          // grow and so move the segment).
          detail::write_payload<Result>(detail::to_owned(out), output);
        } else {
          detail::write_payload<Out>(out, output);
        }
      } else {
        detail::write_payload<Out>((*fn)(decoded, context), output);
      }
      return false;
    };
    detail::register_job(name_, std::move(entry));
  }

  ~Job() { detail::unregister_job(name_); }
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  /// The name the job was registered under.
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  /// The job's function (the thread backend calls it directly).
  [[nodiscard]] const std::shared_ptr<const Function>& function() const noexcept { return fn_; }

 private:
  template <class F>
  static Function view_function(F fn) {
    constexpr bool takes_context = std::is_invocable_v<const F&, const In&, JobContext&>;
    using Returned = typename std::conditional_t<takes_context, std::invoke_result<const F&, const In&, JobContext&>,
                                                 std::invoke_result<const F&, const In&>>::type;
    static_assert(std::is_same_v<std::remove_cvref_t<Returned>, Out>,
                  "isolate::Job: a job whose Out is a view must return that view type itself; returning an owned "
                  "std::string or vector would leave the view dangling");
    if constexpr (takes_context) {
      return Function(std::move(fn));
    } else {
      return Function([fn = std::move(fn)](const In& in, JobContext&) { return fn(in); });
    }
  }

  std::string name_;
  std::shared_ptr<const Function> fn_;
};

/// Registers exception type E under `name`, so that a job throwing exactly E fails the parent's
/// future with an E (rebuilt from its what() message) instead of JobError. E must be
/// constructible from a std::string. Define it at namespace scope in code linked into both sides.
/// A name or type registered twice is a start-up error (message, exit status 70).
template <class E>
class ExceptionType {
 public:
  // NOLINTNEXTLINE(performance-unnecessary-value-param): moved into the registry (API.md's signature)
  explicit ExceptionType(std::string name) {
    detail::register_exception_type(typeid(E), std::move(name),
                                    [](const std::string& message) { return std::make_exception_ptr(E(message)); });
  }
  ~ExceptionType() { detail::unregister_exception_type(typeid(E)); }
  ExceptionType(const ExceptionType&) = delete;
  ExceptionType& operator=(const ExceptionType&) = delete;
};

}  // namespace isolate
