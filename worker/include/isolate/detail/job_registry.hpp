// job_registry.hpp — the program's jobs by name (internal; reachable because Job, a template,
// registers itself here).
#pragma once

#include <isolate/detail/byte_writer.hpp>
#include <isolate/export.hpp>
#include <isolate/job_context.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace isolate::detail {

/// A job as the worker runs it: decode the input, call the function, write the output payload.
/// run() returns true when it recorded the output in place (ByteWriter::refer) rather than
/// copying it into the record.
struct JobEntry {
  std::string_view input_tag;
  std::function<bool(std::span<const std::byte> input, ByteWriter& output, JobContext& context)> run;
};

/// Registers a job. A name registered twice is a start-up error: the program prints a message
/// naming the job and exits with status 70.
ISOLATE_EXPORT void register_job(const std::string& name, std::shared_ptr<const JobEntry> entry);
/// Removes a job (its Job object's destructor).
ISOLATE_EXPORT void unregister_job(const std::string& name) noexcept;
/// The job named `name`, or null.
ISOLATE_EXPORT std::shared_ptr<const JobEntry> find_job(std::string_view name);

}  // namespace isolate::detail
