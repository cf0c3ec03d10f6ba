#include "model/detail/builder.h"

#include "model/detail/builder_impl.h"

namespace doppel::model::detail {

void arena::append(arena&& other) {
  for (auto& p : other.interfaces) interfaces.push_back(std::move(p));
  for (auto& p : other.contents) contents.push_back(std::move(p));
  for (auto& p : other.schemas) schemas.push_back(std::move(p));
  other = arena{};
}

const schema* primitive_schema(primitive_kind k) {
  // Immutable constants, built once.
  static const std::vector<schema> table = [] {
    std::vector<schema> t;
    for (int i = 0; i <= static_cast<int>(primitive_kind::vector); ++i) {
      schema s;
      s.type = schema::kind::primitive;
      s.primitive = static_cast<primitive_kind>(i);
      t.push_back(std::move(s));
    }
    return t;
  }();
  return &table[static_cast<std::size_t>(k)];
}

void build_batch(const std::vector<source>& sources, const registry_options& options, const id_table& existing_ids,
                 arena& out, id_table& new_ids, load_report& report) {
  builder b(sources, options, existing_ids, out, new_ids, report);
  b.run();
}

}  // namespace doppel::model::detail
