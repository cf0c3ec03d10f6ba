// The builder's files and contexts: parsing each source, its top level and its @context values.
#include "model/detail/builder_impl.h"

namespace doppel::model::detail {

void builder::parse_file(std::uint32_t f) {
  const source& src = sources_[f];
  where_t top{f, "$", 1, 1};
  if (src.text.size() > k_max_source_bytes) {
    error(top, "model file is larger than 64 MiB", "split the models over several files");
    return;
  }
  json_parse_result parsed = parse_json(src.text, static_cast<std::uint32_t>(doppel::k_max_json_depth));
  if (!parsed.root) {
    top.line = parsed.error.line;
    top.column = parsed.error.column;
    error(top, parsed.error.message, "fix the JSON syntax at this position");
    return;
  }
  const jnode& root = *parsed.root;
  if (root.is_array()) {
    if (root.items.empty()) {
      error(top.at(root, "$"), "the file holds an empty array", "put one or more Interface objects in it");
    }
    for (std::size_t i = 0; i < root.items.size(); ++i) {
      parse_top_level(root.items[i], top.at(root.items[i], index_path("$", i)));
    }
  } else if (root.is_object()) {
    parse_top_level(root, top.at(root, "$"));
  } else {
    error(top.at(root, "$"),
          "a model file must hold an Interface object or an array of them, not " + a_kind(root.type));
  }
  // Kept for the batch: duplicate-@id checks compare definitions across files, and
  // initialValue is checked once schemas are resolved.
  documents_.push_back(std::move(parsed));
}

void builder::parse_top_level(const jnode& n, const where_t& w) {
  if (!n.is_object()) {
    error(w, "expected an Interface object here, not " + a_kind(n.type));
    return;
  }
  const jnode* context = n.find("@context");
  if (!context) {
    error(w, "a top-level Interface needs \"@context\"",
          "add \"@context\": \"dtmi:dtdl:context;3\" (or \"dtmi:dtdl:context;2\" for DTDL v2)");
    return;
  }
  active_context saved = ctx_;
  ctx_ = active_context{};
  if (read_context(*context, w.at(*context, member_path(w.path.str(), "@context")), true)) {
    parse_interface(n, w, nullptr);
  }
  ctx_ = saved;
}

bool builder::read_context(const jnode& n, const where_t& w, bool top_level) {
  std::vector<std::pair<std::string, where_t>> values;
  if (n.is_string()) {
    values.emplace_back(n.text, w);
  } else if (n.is_array() && (!n.items.empty() || !top_level)) {
    // A nested element's empty @context changes nothing (JSON-LD); a top-level one must name
    // the DTDL version.
    for (std::size_t i = 0; i < n.items.size(); ++i) {
      const jnode& it = n.items[i];
      where_t iw = w.at(it, index_path(w.path.str(), i));
      if (!it.is_string()) {
        error(iw, "each @context value must be a string DTMI, not " + a_kind(it.type));
        return false;
      }
      values.emplace_back(it.text, iw);
    }
  } else {
    error(w, "@context must be a string or a non-empty array of strings",
          "write \"@context\": \"dtmi:dtdl:context;3\"");
    return false;
  }
  std::optional<dtdl_version> dtdl;
  std::size_t dtdl_index = 0;
  std::optional<std::size_t> first_extension;
  bool ok = true;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& [v, vw] = values[i];
    if (!seen.insert(v).second) continue;  // a repeat is pointless but harmless
    if (v.size() > k_max_dtmi_length) {
      error(vw,
            "@context value is " + std::to_string(v.size()) + " characters long; DTDL allows at most " +
                std::to_string(k_max_dtmi_length),
            "check the value: extension contexts are short DTMIs such as dtmi:dtdl:extension:historization;1");
      ok = false;
      continue;
    }
    if (v == "dtmi:dtdl:context;2" || v == "dtmi:dtdl:context;3") {
      // Several DTDL contexts are allowed (if discouraged); the last one in the array wins.
      dtdl = v.back() == '2' ? dtdl_version::v2 : dtdl_version::v3;
      dtdl_index = i;
      continue;
    }
    std::string problem = dtmi_problem(v, dtdl_version::v3);
    if (!problem.empty()) {
      error(vw, "@context value " + quote(v) + " is not a valid DTMI: " + problem);
      ok = false;
      continue;
    }
    if (v.find(';') == std::string::npos) {
      error(vw, "@context value " + quote(v) + " needs a version", "append the version, e.g. " + v + ";1");
      ok = false;
      continue;
    }
    if (v.rfind("dtmi:dtdl:context;", 0) == 0) {
      error(vw, "DTDL language version " + quote(v) + " is not supported",
            "Doppel reads DTDL v2 (dtmi:dtdl:context;2) and v3 (dtmi:dtdl:context;3)");
      ok = false;
      continue;
    }
    if (!first_extension) first_extension = i;
    const extension_info* ext = nullptr;
    for (const auto& e : k_extensions) {
      if (e.context == v) ext = &e;
    }
    if (!ext) {
      if (options_.allow_unknown_extensions) {
        ctx_.unknown_extension = true;
      } else {
        error(vw, "unknown extension context " + quote(v),
              "Doppel supports " + std::string(k_supported_extensions) +
                  "; remove the context or the terms that need it");
        ok = false;
      }
      continue;
    }
    pending_extensions_.emplace_back(ext, vw);
  }
  if (dtdl && first_extension && *first_extension < dtdl_index) {
    bool iotc_first = *dtdl == dtdl_version::v2 && dtdl_index == 1 && values[0].first == "dtmi:iotcentral:context;2";
    if (!iotc_first) {
      error(values[dtdl_index].second, "the DTDL context must come before extension contexts in @context",
            "move " + quote(values[dtdl_index].first) + " to the front of the @context array");
      ok = false;
    }
  }
  if (dtdl && !top_level && ctx_.version == dtdl_version::v2 && *dtdl == dtdl_version::v3) {
    error(w, "a DTDL v2 element cannot contain DTDL v3 elements",
          "write this element in DTDL v2, or move the outer element to DTDL v3");
    ok = false;
  }
  if (!dtdl) {
    if (top_level) {
      error(w, "@context does not name a DTDL version",
            "start @context with \"dtmi:dtdl:context;3\" (or \"dtmi:dtdl:context;2\")");
      pending_extensions_.clear();
      return false;
    }
  } else {
    if (!top_level && *dtdl != ctx_.version) {
      // An element may switch language version; its extensions start afresh.
      ctx_.extensions = 0;
    }
    ctx_.version = *dtdl;
  }
  for (const auto& [ext, vw] : pending_extensions_) {
    if (ext->version != ctx_.version && !(ext->also_v2 && ctx_.version == dtdl_version::v2)) {
      error(vw, "extension " + quote(ext->context) + " is for DTDL v" + std::to_string(static_cast<int>(ext->version)) +
                    ", but this element is DTDL v" + std::to_string(static_cast<int>(ctx_.version)));
      ok = false;
      continue;
    }
    ctx_.extensions |= ext->bit;
  }
  pending_extensions_.clear();
  if (ctx_.has(ext_overriding) && !ctx_.has(ext_annotation)) {
    error(w, "the overriding extension needs the annotation extension",
          "add \"dtmi:dtdl:extension:annotation;1\" to @context");
    ok = false;
  }
  return ok;
}

bool builder::enter_nested_context(const jnode& n, const where_t& w) {
  const jnode* c = n.find("@context");
  if (!c) return true;
  return read_context(*c, w.at(*c, member_path(w.path.str(), "@context")), false);
}

}  // namespace doppel::model::detail
