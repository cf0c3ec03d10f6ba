// Twin documents, in the shape the Azure Digital Twins data plane uses, checked against their
// DTDL model:
//   {"$dtId": "pump-1", "$metadata": {"$model": "dtmi:doppel:example:Pump;1"},
//    "targetSpeed": 1450, "motor": {"$metadata": {}, "ratedPower": 55}}
// The twin graph calls these before it stores a create, replace or JSON Patch, so that nothing
// invalid is ever stored. Pure functions of their arguments; safe for concurrent use as long as
// the registry is not being loaded.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string_view>
#include <vector>

#include "model/conformance.h"
#include "model/registry.h"

namespace doppel::twin {

struct check_options {
  // Properties that are not `writable` in the model hold what the device reports. False: a
  // write may not set them (the API's writes in its strict mode, api.enforce_writable). True:
  // any property may be set, as Azure Digital Twins allows its API writes (the API's default),
  // and as twins declared in the project folder and values reported by devices do.
  bool allow_read_only = false;
  // False: a successful write completes with only {"$dtId", "$etag"} rather than the whole twin
  // (the API answers a PATCH with 204 and an ETag, as Azure Digital Twins does; this saves a copy).
  bool reply_with_body = true;
};

// Checks a whole twin body. `id` is the twin's id; "$dtId", when present, must equal it.
// Returns the interface named by $metadata.$model when the body is valid; otherwise nullptr,
// with one entry per problem (JSON path and message) appended to `errors`.
const model::interface* check_twin(const nlohmann::json& body, std::string_view id, const model::model_registry& models,
                                   const check_options& options, std::vector<model::value_error>& errors);

// Applies an RFC 6902 JSON Patch (add, remove, replace, move, copy, test) to a valid twin body
// and checks the result. On success `body` holds the patched twin and true is returned; on any
// error `body` is unchanged and `errors` says why (paths of the patch, e.g. $[2].path, or of the
// resulting twin). Operations may not touch "$dtId", "$etag" or "$metadata".
// `model`, when given, is the interface `body` is already known to be valid for (the twin graph
// knows it), which saves checking the stored body again. `patch_invalid`, when given, is set to
// whether the patch itself is wrong (not an array of well-formed operations, a path into a
// $-key, an operation that cannot be applied) rather than its result not fitting the model.
bool patch_twin(nlohmann::json& body, const nlohmann::json& patch, std::string_view id,
                const model::model_registry& models, const check_options& options,
                std::vector<model::value_error>& errors, const model::interface* model = nullptr,
                bool* patch_invalid = nullptr);
// The same, leaving `before` as it is and writing the patched twin to `after`.
bool patched_twin(const nlohmann::json& before, const nlohmann::json& patch, std::string_view id,
                  const model::model_registry& models, const check_options& options,
                  std::vector<model::value_error>& errors, nlohmann::json& after,
                  const model::interface* model = nullptr, bool* patch_invalid = nullptr);

// Server-managed $metadata, in the shape Azure Digital Twins uses, stamped on every write:
//   "$metadata": {"$model": ..., "$lastUpdateTime": NOW, "speed": {"lastUpdateTime": T}, ...}
// on the twin and inside each component. A property's lastUpdateTime moves only when its value
// changed against `before` (null for a new twin). Desired-state fields (below) are carried over
// from `before`; anything else a client put in $metadata besides $model is dropped. Integer
// values written as 1e2 become 100 (model::normalize_integers). `after` must be a valid twin of
// `iface` (check_twin).
void stamp_metadata(const nlohmann::json* before, nlohmann::json& after, const model::interface& iface,
                    std::string_view now);

// Desired state: what operators want a writable property to be, next to what the device last
// reported (the property's value). Kept per property in $metadata:
//   "speed": {"lastUpdateTime": T, "desiredValue": 1500, "desiredVersion": 3, "desiredTime": T2,
//             "ackVersion": 3, "ackCode": 200}
// and "$desiredVersion" on the twin's $metadata, incremented by every set_desired. When the
// reported value equals the desired one (stamp_metadata sees it) the property is acknowledged:
// ackVersion = desiredVersion, ackCode 200.
//
// set_desired merges `desired` ({"speed": 1500, "motor": {"limit": 3}}; null clears a desired
// value) into `body`, which must be valid for `iface`. Every named property must exist, be
// writable and fit its schema; otherwise `body` is unchanged and `errors` says why.
bool set_desired(nlohmann::json& body, const nlohmann::json& desired, const model::interface& iface,
                 std::string_view now, std::vector<model::value_error>& errors);

// {"$dtId", "version": $desiredVersion, "desired": {...}, "reported": {...}, "delta": {...}}
// where delta holds the desired values the device has not reported yet (components nested).
nlohmann::json desired_view(const nlohmann::json& body, const model::interface& iface);

}  // namespace doppel::twin
