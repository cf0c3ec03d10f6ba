// The names the twin layer gives its failures (status::reason): the error codes Azure Digital
// Twins' REST API reference gives for the same failures, so that ADT clients see what they know.
// The API sends them as error.code and answers each with ADT's HTTP status
// (api/routes/common.cpp); docs/api.md#errors lists them. Constants and pure functions; safe
// everywhere.
#pragma once

#include <string_view>

#include "core/status.h"
#include "core/text.h"

namespace doppel::twin::errors {

// 400
inline constexpr std::string_view invalid_argument = "InvalidArgument";          // an id or the payload's shape
inline constexpr std::string_view validation_failed = "ValidationFailed";        // the payload does not fit the model
inline constexpr std::string_view json_patch_invalid = "JsonPatchInvalid";       // the JSON Patch itself is wrong
inline constexpr std::string_view invalid_relationship = "InvalidRelationship";  // name, target or multiplicity
inline constexpr std::string_view relationships_not_deleted = "RelationshipsNotDeleted";  // twin delete
inline constexpr std::string_view model_decommissioned = "ModelDecommissioned";           // a new twin of it
inline constexpr std::string_view dtdl_parser_error = "DTDLParserError";                  // an uploaded model
inline constexpr std::string_view sql_query_error = "SqlQueryError";  // a query that does not parse or run
inline constexpr std::string_view bad_request = "BadRequest";         // a continuation token that is not valid
// 404
inline constexpr std::string_view digital_twin_not_found = "DigitalTwinNotFound";
inline constexpr std::string_view target_twin_not_found = "TargetTwinNotFound";
inline constexpr std::string_view relationship_not_found = "RelationshipNotFound";
inline constexpr std::string_view model_not_found = "ModelNotFound";
inline constexpr std::string_view component_not_found = "ComponentNotFound";
// 409
inline constexpr std::string_view model_already_exists = "ModelAlreadyExists";
inline constexpr std::string_view model_references_not_deleted = "ModelReferencesNotDeleted";
// 412
inline constexpr std::string_view precondition_failed = "PreconditionFailed";  // If-Match / If-None-Match

// The one answer for a twin id that names no twin, wherever it is looked up.
inline status twin_not_found(std::string_view id) {
  return status::not_found("twin " + quote(id) + " does not exist").with_reason(digital_twin_not_found);
}

}  // namespace doppel::twin::errors
