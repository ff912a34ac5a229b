// isolate.hpp — the umbrella header: everything public in isolate.
#pragma once

#include <isolate/cancellable_completer.hpp>
#include <isolate/cancellable_future.hpp>
#include <isolate/cancellation_token.hpp>
#include <isolate/errors.hpp>
