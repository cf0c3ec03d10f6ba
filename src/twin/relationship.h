// Relationships between twins, in the Azure Digital Twins shape:
//   {"$relationshipId": "r1", "$sourceId": "station-1", "$relationshipName": "hasPump",
//    "$targetId": "pump-1", "position": 1}
// checked against the source twin's model. Pure functions; safe for concurrent use.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <vector>

#include "model/conformance.h"
#include "model/model.h"

namespace doppel::twin {

// Checks a relationship body whose source twin has model `source` and whose target twin has
// model `target` (nullptr when the target twin does not exist). Returns the model's Relationship
// element when valid; otherwise nullptr with the problems appended to `errors`. Multiplicity is
// the graph's to check: it needs the other relationships.
const model::content* check_relationship(const nlohmann::json& body, const model::interface& source,
                                         const model::interface* target, std::vector<model::value_error>& errors);

}  // namespace doppel::twin
