// The query evaluator: plans where the FROM collection's candidates come from ($dtId lookups,
// the model index, a property range, or a scan in id order), walks JOINs depth-first along
// outgoing relationships, tests each condition as soon as the collections it names are bound,
// and builds one page of rows (or of groups).
//
// Rows come out in one deterministic order: FROM twin id, then the relationship id of each JOIN
// hop (FROM RELATIONSHIPS: source id, relationship id); groups in the order of their key values.
// A page ends with the key of its last row, and the next page resumes strictly after it.
//
// Conditions use three-valued logic as in Cosmos DB, which ADT's language is built on: a
// missing property, or a comparison between different types, is "undefined"; NOT undefined
// stays undefined, and a row is kept only when its condition is true.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <map>

#include "twin/detail/query_ast.h"
#include "twin/errors.h"
#include "twin/index.h"

namespace doppel::twin::detail {

namespace {

using nlohmann::json;

enum class tri : std::uint8_t { no, yes, unknown };

tri truth(bool b) { return b ? tri::yes : tri::no; }

// Three-way comparison of two JSON numbers without losing integer precision.
int compare_numbers(const json& a, const json& b) {
  if (a.is_number_float() || b.is_number_float()) {
    double x = a.get<double>(), y = b.get<double>();
    return (x > y) - (x < y);
  }
  bool au = a.is_number_unsigned(), bu = b.is_number_unsigned();
  if (au && bu) {
    auto x = a.get<std::uint64_t>(), y = b.get<std::uint64_t>();
    return (x > y) - (x < y);
  }
  if (!au && !bu) {
    auto x = a.get<std::int64_t>(), y = b.get<std::int64_t>();
    return (x > y) - (x < y);
  }
  // One signed, one unsigned: a negative signed value is the smaller.
  if (au) return -compare_numbers(b, a);
  auto x = a.get<std::int64_t>();
  if (x < 0) return -1;
  auto ux = static_cast<std::uint64_t>(x), y = b.get<std::uint64_t>();
  return (ux > y) - (ux < y);
}

tri apply(cmp_op op, int c) {
  switch (op) {
    case cmp_op::eq: return truth(c == 0);
    case cmp_op::ne: return truth(c != 0);
    case cmp_op::lt: return truth(c < 0);
    case cmp_op::le: return truth(c <= 0);
    case cmp_op::gt: return truth(c > 0);
    case cmp_op::ge: return truth(c >= 0);
  }
  return tri::unknown;
}

// Values of the same kind compare; anything else is undefined. Booleans, nulls, objects and
// arrays only know = and !=.
tri compare(const json* a, const json* b, cmp_op op) {
  if (!a || !b) return tri::unknown;
  if (a->is_number() && b->is_number()) return apply(op, compare_numbers(*a, *b));
  if (a->is_string() && b->is_string()) {
    int c = a->get_ref<const std::string&>().compare(b->get_ref<const std::string&>());
    return apply(op, c);
  }
  if (a->type() != b->type()) return tri::unknown;
  if (op != cmp_op::eq && op != cmp_op::ne) return tri::unknown;
  bool equal = *a == *b;
  return truth(op == cmp_op::eq ? equal : !equal);
}

// For MIN and MAX: numbers before strings, numbers by value, strings by bytes.
bool less_for_minmax(const json& a, const json& b) {
  if (a.is_number() != b.is_number()) return a.is_number();
  if (a.is_number()) return compare_numbers(a, b) < 0;
  return a.get_ref<const std::string&>() < b.get_ref<const std::string&>();
}

std::string_view string_at(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>()) : std::string_view();
}

std::string_view model_of(const json& twin) {
  auto meta = twin.find("$metadata");
  if (meta == twin.end() || !meta->is_object()) return {};
  return string_at(*meta, "$model");
}

// Nodes in a condition: the cost of testing it once. Recursion is bounded by the parser's depth.
std::uint64_t cost_of(const expr& e) {
  std::uint64_t n = 1 + (e.type == expr::kind::in ? e.value.size() : 0);
  for (const auto& c : e.children) n += cost_of(c);
  return n;
}

// The deepest JOIN level among the collections a condition names (0: only FROM).
std::size_t level_of(const expr& e, const query_ast& q) {
  std::size_t level = 0;
  if (e.type == expr::kind::path || (e.type == expr::kind::call && e.fn == function::is_of_model)) {
    level = q.collections[e.ref.collection].level;
  }
  for (const auto& c : e.children) level = std::max(level, level_of(c, q));
  return level;
}

void collect_model_checks(const expr& e, std::vector<const expr*>& out) {
  if (e.type == expr::kind::call && e.fn == function::is_of_model) out.push_back(&e);
  for (const auto& c : e.children) collect_model_checks(c, out);
}

bool is_root_path(const expr& e, std::size_t segments) {
  return e.type == expr::kind::path && e.ref.collection == 0 && e.ref.segments.size() == segments;
}
bool is_id_path(const expr& e) { return is_root_path(e, 1) && e.ref.segments[0] == "$dtId"; }
bool is_field_path(const expr& e, const char* field) { return is_root_path(e, 1) && e.ref.segments[0] == field; }

cmp_op flip(cmp_op op) {
  switch (op) {
    case cmp_op::lt: return cmp_op::gt;
    case cmp_op::le: return cmp_op::ge;
    case cmp_op::gt: return cmp_op::lt;
    case cmp_op::ge: return cmp_op::le;
    default: return op;
  }
}

// Where the FROM collection's candidates come from.
struct root_plan {
  enum class how : std::uint8_t { scan, ids, models, range } kind = how::scan;
  std::string prefix;                           // scan: only ids starting with this
  std::vector<std::string> ids;                 // ids: sorted, unique
  std::vector<const twin_index::id_set*> sets;  // models
  std::vector<std::string_view> range_ids;      // range: sorted, unique
  std::size_t estimate = std::numeric_limits<std::size_t>::max();
  // The condition the candidates satisfy by construction (a $dtId match, an IS_OF_MODEL), which
  // need not be tested again; nullptr for ranges, whose bounds are only a superset.
  const expr* satisfied = nullptr;
};

// A property range the index can answer: [lo, hi] on one path, numbers or strings.
struct range_bounds {
  std::string path;
  bool strings = false;
  std::optional<double> lo_num, hi_num;
  std::optional<std::string> lo_str, hi_str;
};

// Orders group keys: one slot per GROUP BY path, [] when a row has no value there (first), [v]
// otherwise (by JSON order). Transparent, so a row finds its group through pointers to its values
// (a probe) without building a key.
using probe = std::vector<const json*>;
struct group_less {
  using is_transparent = void;
  static int compare(const json* a, const json* b) {
    if (!a || !b) return (a != nullptr) - (b != nullptr);
    return *a < *b ? -1 : (*b < *a ? 1 : 0);
  }
  static const json* slot(const json& key, std::size_t i) { return key[i].empty() ? nullptr : &key[i][0]; }
  static const json* slot(const probe& key, std::size_t i) { return key[i]; }
  template <class A, class B>
  static bool less(const A& a, const B& b) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (int c = compare(slot(a, i), slot(b, i)); c != 0) return c < 0;
    }
    return false;
  }
  bool operator()(const json& a, const json& b) const { return less(a, b); }
  bool operator()(const json& a, const probe& b) const { return less(a, b); }
  bool operator()(const probe& a, const json& b) const { return less(a, b); }
};

struct accumulator {
  std::uint64_t count = 0;   // COUNT(): rows; others: numbers seen
  bool all_integers = true;  // SUM: exact while every addend is a signed 64-bit integer
  std::int64_t int_sum = 0;
  double sum = 0;
  std::optional<json> best;  // MIN / MAX
};

class evaluator {
 public:
  evaluator(const query_ast& q, const query_source& source, const query_options& options, const continuation* resume)
      : q_(q), src_(source), opt_(options), resume_(resume) {}

  result<json> run() {
    if (status s = check_resume(); !s) return s;
    split_conditions();
    build_model_sets();
    bound_.assign(q_.collections.size(), nullptr);
    std::size_t levels = q_.collections[0].kind == collection_kind::relationships ? 2 : 1 + q_.joins.size();
    key_.assign(levels, {});
    if (q_.aggregates && q_.group_by.empty())
      groups_.emplace(json::array(), std::vector<accumulator>(q_.projections.size()));
    if (!q_.aggregates && q_.top) {
      std::uint64_t before = resume_ ? resume_->returned : 0;
      remaining_ = before >= static_cast<std::uint64_t>(*q_.top) ? 0 : static_cast<std::uint64_t>(*q_.top) - before;
    }
    if (remaining_ > 0) {
      if (q_.collections[0].kind == collection_kind::relationships) {
        scan_relationship_roots();
      } else {
        scan_twin_roots();
      }
    }
    if (!error_.is_ok()) return error_;
    json page = json::object();
    if (q_.aggregates) {
      page["value"] = group_rows();
    } else {
      page["value"] = std::move(rows_);
    }
    if (more_) {
      continuation next;
      next.query = q_.text;
      next.key = std::move(last_key_);
      next.returned = (resume_ ? resume_->returned : 0) + page["value"].size();
      page["continuationToken"] = encode_token(next);
    }
    return page;
  }

 private:
  // ---- set-up ----
  status check_resume() {
    if (!resume_) return status::ok();
    const json& k = resume_->key;
    bool fits = k.is_array();
    if (fits && q_.aggregates) {
      fits = k.size() == q_.group_by.size() && !q_.group_by.empty() &&
             std::all_of(k.begin(), k.end(), [](const json& g) { return g.is_array() && g.size() <= 1; });
    } else if (fits) {
      std::size_t levels = q_.collections[0].kind == collection_kind::relationships ? 2 : 1 + q_.joins.size();
      fits = k.size() == levels && std::all_of(k.begin(), k.end(), [](const json& s) { return s.is_string(); });
    }
    if (!fits) {
      return status::invalid_argument("the continuation token does not fit this query; start again without it")
          .with_reason(errors::bad_request);
    }
    if (!q_.aggregates) {
      for (const auto& s : k) resume_key_.push_back(s.get<std::string>());
    }
    return status::ok();
  }

  void split_conditions() {
    std::size_t levels = q_.joins.size() + 1;
    conditions_.assign(levels, {});
    cost_.assign(levels, 1);
    if (!q_.where) return;
    std::vector<const expr*> all;
    if (q_.where->type == expr::kind::and_) {
      for (const auto& c : q_.where->children) all.push_back(&c);
    } else {
      all.push_back(&*q_.where);
    }
    for (const expr* c : all) {
      std::size_t level = level_of(*c, q_);
      conditions_[level].push_back(c);
      cost_[level] += cost_of(*c);
    }
  }

  // The models each IS_OF_MODEL accepts, sorted, so that testing a twin is a binary search.
  void build_model_sets() {
    if (q_.model_checks == 0 || !q_.where) return;
    model_sets_.assign(q_.model_checks, {});
    std::vector<const expr*> checks;
    collect_model_checks(*q_.where, checks);
    std::vector<const model::interface*> all;
    for (const expr* e : checks) {
      auto& set = model_sets_[e->slot];
      if (e->exact) {
        set.push_back(e->model);
        continue;
      }
      if (all.empty()) all = src_.models().list();
      for (const auto* m : all) {
        if (m->is_a(e->model)) set.push_back(m->id);
      }
      if (set.empty()) set.push_back(e->model);  // unknown model: only twins claiming exactly it
      std::sort(set.begin(), set.end());
    }
  }

  // ---- conditions ----
  const json* resolve(const path& p) const {
    const json* v = bound_[p.collection];
    for (const auto& s : p.segments) {
      if (!v || !v->is_object()) return nullptr;
      auto it = v->find(s);
      if (it == v->end()) return nullptr;
      v = &*it;
    }
    return v;
  }

  const json* operand(const expr& e) const { return e.type == expr::kind::literal ? &e.value : resolve(e.ref); }

  // Recursion follows the parsed tree, whose depth the parser bounds.
  tri test(const expr& e) const {
    switch (e.type) {
      case expr::kind::literal:
      case expr::kind::path: {
        const json* v = operand(e);
        return v && v->is_boolean() ? truth(v->get<bool>()) : tri::unknown;
      }
      case expr::kind::compare: return compare(operand(e.children[0]), operand(e.children[1]), e.op);
      case expr::kind::in: {
        const json* v = operand(e.children[0]);
        if (!v) return tri::unknown;
        bool found = std::any_of(e.value.begin(), e.value.end(),
                                 [&](const json& item) { return compare(v, &item, cmp_op::eq) == tri::yes; });
        return truth(found != e.negated);
      }
      case expr::kind::and_: {
        tri r = tri::yes;
        for (const auto& c : e.children) {
          tri x = test(c);
          if (x == tri::no) return tri::no;
          if (x == tri::unknown) r = tri::unknown;
        }
        return r;
      }
      case expr::kind::or_: {
        tri r = tri::no;
        for (const auto& c : e.children) {
          tri x = test(c);
          if (x == tri::yes) return tri::yes;
          if (x == tri::unknown) r = tri::unknown;
        }
        return r;
      }
      case expr::kind::not_: {
        tri x = test(e.children[0]);
        return x == tri::unknown ? x : truth(x == tri::no);
      }
      case expr::kind::call: return call(e);
    }
    return tri::unknown;
  }

  tri call(const expr& e) const {
    if (e.fn == function::is_of_model) {
      const json* twin = bound_[e.ref.collection];
      if (!twin) return tri::no;
      const auto& set = model_sets_[e.slot];
      return truth(std::binary_search(set.begin(), set.end(), model_of(*twin)));
    }
    if (e.fn == function::startswith || e.fn == function::endswith || e.fn == function::contains) {
      const json* a = operand(e.children[0]);
      const json* b = operand(e.children[1]);
      if (!a || !b || !a->is_string() || !b->is_string()) return tri::unknown;
      std::string_view s = a->get_ref<const std::string&>(), t = b->get_ref<const std::string&>();
      if (e.fn == function::startswith) return truth(s.substr(0, t.size()) == t);
      if (e.fn == function::endswith) return truth(s.size() >= t.size() && s.substr(s.size() - t.size()) == t);
      return truth(s.find(t) != std::string_view::npos);
    }
    const json* v = operand(e.children[0]);
    switch (e.fn) {
      case function::is_defined: return truth(v != nullptr);
      case function::is_null: return truth(v && v->is_null());
      case function::is_bool: return truth(v && v->is_boolean());
      case function::is_number: return truth(v && v->is_number());
      case function::is_string: return truth(v && v->is_string());
      case function::is_object: return truth(v && v->is_object());
      case function::is_primitive: return truth(v && (v->is_primitive()));
      default: return tri::unknown;
    }
  }

  bool passes(std::size_t level) const {
    return std::all_of(conditions_[level].begin(), conditions_[level].end(),
                       [&](const expr* c) { return test(*c) == tri::yes; });
  }

  // Charges one visit at `level`; false (with error_ set) when the budget is spent.
  bool tick(std::size_t level) {
    work_ += cost_[level];
    if (work_ <= opt_.limits.max_work) return true;
    error_ = status::invalid_argument(
        "query too expensive: it was stopped after " + std::to_string(opt_.limits.max_work) +
        " evaluation steps (its budget, api.query_max_work): narrow it with WHERE on the FROM collection ($dtId, "
        "IS_OF_MODEL or a property condition), fewer JOIN hops, or a smaller page");
    return false;
  }

  // ---- FROM DIGITALTWINS ----
  root_plan plan_twins() {
    root_plan best;
    best.estimate = src_.twin_count();
    if (!opt_.use_indexes) return best;
    const twin_index* index = src_.index();
    std::vector<range_bounds> ranges;
    std::string prefix;
    for (const expr* c : conditions_[0]) {
      const expr& e = *c;
      if (e.type == expr::kind::compare && e.op != cmp_op::ne) {
        bool left = e.children[0].type == expr::kind::path;
        const expr& p = e.children[left ? 0 : 1];
        const expr& lit = e.children[left ? 1 : 0];
        if (lit.type != expr::kind::literal || p.type != expr::kind::path) continue;
        cmp_op op = left ? e.op : flip(e.op);
        if (is_id_path(p) && op == cmp_op::eq && lit.value.is_string()) {
          consider_ids(best, {lit.value.get<std::string>()}, &e);
        } else if (p.ref.collection == 0 && twin_index::indexable(p.ref.segments) &&
                   (lit.value.is_number() || lit.value.is_string())) {
          add_range(ranges, p.ref.segments, lit.value, op);
        }
      } else if (e.type == expr::kind::in && !e.negated && is_id_path(e.children[0])) {
        std::vector<std::string> ids;
        for (const auto& v : e.value) {
          if (v.is_string()) ids.push_back(v.get<std::string>());
        }
        consider_ids(best, std::move(ids), &e);
      } else if (e.type == expr::kind::call && e.fn == function::startswith &&
                 e.children[1].type == expr::kind::literal && e.children[1].value.is_string()) {
        const std::string& p = e.children[1].value.get_ref<const std::string&>();
        if (is_id_path(e.children[0])) {
          if (p.size() > prefix.size()) prefix = p;
        } else if (e.children[0].type == expr::kind::path && e.children[0].ref.collection == 0 &&
                   twin_index::indexable(e.children[0].ref.segments)) {
          add_range(ranges, e.children[0].ref.segments, p, cmp_op::ge);
          add_range(ranges, e.children[0].ref.segments, p + '\xff', cmp_op::le);  // UTF-8 never holds 0xFF
        }
      }
    }
    if (index) {
      for (const expr* c : conditions_[0]) {
        if (c->type != expr::kind::call || c->fn != function::is_of_model || c->ref.collection != 0) continue;
        root_plan plan;
        plan.kind = root_plan::how::models;
        plan.sets = index->twins_of_model(c->model, c->exact);
        plan.satisfied = c;
        plan.estimate = 0;
        for (const auto* s : plan.sets) plan.estimate += s->size();
        if (plan.estimate < best.estimate) best = std::move(plan);
      }
      for (const auto& r : ranges) consider_range(best, *index, r);
    }
    if (!prefix.empty() && best.kind == root_plan::how::scan) {
      best.prefix = prefix;  // ids are sorted: the scan starts at the prefix and ends after it
    }
    return best;
  }

  static void consider_ids(root_plan& best, std::vector<std::string> ids, const expr* condition) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (ids.size() >= best.estimate) return;
    best = root_plan{};
    best.kind = root_plan::how::ids;
    best.satisfied = condition;
    best.estimate = ids.size();
    best.ids = std::move(ids);
  }

  static void add_range(std::vector<range_bounds>& ranges, const std::vector<std::string>& segments, const json& value,
                        cmp_op op) {
    std::string path = segments[0] + (segments.size() > 1 ? "." + segments[1] : "");
    bool strings = value.is_string();
    auto r = std::find_if(ranges.begin(), ranges.end(),
                          [&](const range_bounds& x) { return x.path == path && x.strings == strings; });
    if (r == ranges.end()) {
      ranges.push_back({path, strings, {}, {}, {}, {}});
      r = ranges.end() - 1;
    }
    // Bounds are inclusive even for < and >: a superset (doubles round), re-tested per twin.
    bool lower = op == cmp_op::eq || op == cmp_op::gt || op == cmp_op::ge;
    bool upper = op == cmp_op::eq || op == cmp_op::lt || op == cmp_op::le;
    if (strings) {
      const std::string& s = value.get_ref<const std::string&>();
      if (lower && (!r->lo_str || s > *r->lo_str)) r->lo_str = s;
      if (upper && (!r->hi_str || s < *r->hi_str)) r->hi_str = s;
    } else {
      double d = value.get<double>();
      if (lower && (!r->lo_num || d > *r->lo_num)) r->lo_num = d;
      if (upper && (!r->hi_num || d < *r->hi_num)) r->hi_num = d;
    }
  }

  // Collects the range's ids unless they outnumber the best plan so far.
  static void consider_range(root_plan& best, const twin_index& index, const range_bounds& r) {
    if (!r.lo_num && !r.hi_num && !r.lo_str && !r.hi_str) return;
    std::vector<std::string_view> ids;
    std::size_t cap = best.estimate;
    bool small = true;
    auto visit = [&](const std::string& id) {
      if (ids.size() >= cap) {
        small = false;
        return false;
      }
      ids.push_back(id);
      return true;
    };
    if (r.strings) {
      std::optional<std::string_view> lo, hi;
      if (r.lo_str) lo = *r.lo_str;
      if (r.hi_str) hi = *r.hi_str;
      index.scan_strings(r.path, lo, hi, visit);
    } else {
      index.scan_numbers(r.path, r.lo_num, r.hi_num, visit);
    }
    if (!small) return;
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    best = root_plan{};
    best.kind = root_plan::how::range;
    best.estimate = ids.size();
    best.range_ids = std::move(ids);
  }

  void scan_twin_roots() {
    root_plan plan = plan_twins();
    if (plan.satisfied) {
      auto& level0 = conditions_[0];
      level0.erase(std::find(level0.begin(), level0.end(), plan.satisfied));
      cost_[0] -= cost_of(*plan.satisfied);
    }
    std::string start = resume_key_.empty() ? std::string() : resume_key_[0];
    auto visit = [&](std::string_view id) {
      const json* twin = src_.find_twin(id);
      return !twin || visit_twin(id, *twin);
    };
    switch (plan.kind) {
      case root_plan::how::scan: {
        if (plan.prefix > start) start = plan.prefix;
        const std::string& prefix = plan.prefix;
        src_.scan_twins(start, [&](std::string_view id, const json& twin) {
          if (id.substr(0, prefix.size()) != prefix) return false;
          return visit_twin(id, twin);
        });
        break;
      }
      case root_plan::how::ids:
        for (auto it = std::lower_bound(plan.ids.begin(), plan.ids.end(), start); it != plan.ids.end(); ++it) {
          if (!visit(*it)) break;
        }
        break;
      case root_plan::how::range:
        for (auto it = std::lower_bound(plan.range_ids.begin(), plan.range_ids.end(), std::string_view(start));
             it != plan.range_ids.end(); ++it) {
          if (!visit(*it)) break;
        }
        break;
      case root_plan::how::models: {
        // A k-way merge of the models' sorted id sets: pages come out in id order without
        // collecting every id first.
        std::vector<std::pair<twin_index::id_set::const_iterator, twin_index::id_set::const_iterator>> heads;
        for (const auto* s : plan.sets) heads.emplace_back(s->lower_bound(start), s->end());
        for (;;) {
          std::size_t min = heads.size();
          for (std::size_t i = 0; i < heads.size(); ++i) {
            if (heads[i].first != heads[i].second && (min == heads.size() || *heads[i].first < *heads[min].first)) {
              min = i;
            }
          }
          if (min == heads.size()) break;
          const std::string& id = *heads[min].first++;
          if (!visit(id)) break;
        }
        break;
      }
    }
  }

  bool visit_twin(std::string_view id, const json& twin) {
    if (!tick(0)) return false;
    bool on_path = !resume_key_.empty() && id == resume_key_[0];
    if (on_path && q_.joins.empty()) return true;  // returned on the previous page
    bound_[0] = &twin;
    key_[0] = id;
    if (!passes(0)) return true;
    if (q_.joins.empty()) return emit();
    return expand(1, on_path);
  }

  // Follows JOIN number `level` from its bound source twin. `on_path`: every key so far equals
  // the resume key, so relationships up to the resume key's were returned already.
  bool expand(std::size_t level, bool on_path) {
    const join_clause& j = q_.joins[level - 1];
    std::string_view source = string_at(*bound_[j.source], "$dtId");
    std::string_view from = on_path ? std::string_view(resume_key_[level]) : std::string_view();
    bool go_on = true;
    src_.scan_outgoing(source, from, [&](std::string_view, std::string_view rel_id, const json& rel) {
      if (string_at(rel, "$relationshipName") != j.relationship) return true;
      if (!tick(level)) return go_on = false;
      const json* target = src_.find_twin(string_at(rel, "$targetId"));
      if (!target) return true;
      bool child_on_path = on_path && rel_id == resume_key_[level];
      bound_[j.relation] = &rel;
      bound_[j.target] = target;
      key_[level] = rel_id;
      if (!passes(level)) return true;
      if (level == q_.joins.size()) {
        if (child_on_path) return true;
        go_on = emit();
      } else {
        go_on = expand(level + 1, child_on_path);
      }
      return go_on;
    });
    return go_on;
  }

  // ---- FROM RELATIONSHIPS ----
  void scan_relationship_roots() {
    std::vector<std::string> sources;
    bool by_source = false;
    if (opt_.use_indexes) {
      for (const expr* c : conditions_[0]) {
        const expr& e = *c;
        std::vector<std::string> found;
        if (e.type == expr::kind::compare && e.op == cmp_op::eq) {
          for (int side = 0; side < 2; ++side) {
            const expr& p = e.children[side];
            const expr& lit = e.children[1 - side];
            if (is_field_path(p, "$sourceId") && lit.type == expr::kind::literal && lit.value.is_string()) {
              found.push_back(lit.value.get<std::string>());
            }
          }
          if (found.empty()) continue;
        } else if (e.type == expr::kind::in && !e.negated && is_field_path(e.children[0], "$sourceId")) {
          for (const auto& v : e.value) {
            if (v.is_string()) found.push_back(v.get<std::string>());
          }
        } else {
          continue;
        }
        if (!by_source || found.size() < sources.size()) sources = std::move(found);
        by_source = true;
      }
    }
    std::string start_source = resume_key_.empty() ? std::string() : resume_key_[0];
    std::string start_id = resume_key_.empty() ? std::string() : resume_key_[1];
    auto visit = [&](std::string_view source, std::string_view rel_id, const json& rel) {
      return visit_relationship(source, rel_id, rel);
    };
    if (!by_source) {
      src_.scan_relationships(start_source, start_id, visit);
      return;
    }
    std::sort(sources.begin(), sources.end());
    sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
    bool go_on = true;
    for (auto it = std::lower_bound(sources.begin(), sources.end(), start_source); go_on && it != sources.end(); ++it) {
      std::string_view from = *it == start_source ? std::string_view(start_id) : std::string_view();
      src_.scan_outgoing(*it, from, [&](std::string_view source, std::string_view rel_id, const json& rel) {
        return go_on = visit_relationship(source, rel_id, rel);
      });
    }
  }

  bool visit_relationship(std::string_view source, std::string_view rel_id, const json& rel) {
    if (!tick(0)) return false;
    if (!resume_key_.empty() && source == resume_key_[0] && rel_id == resume_key_[1]) return true;
    bound_[0] = &rel;
    key_[0] = source;
    key_[1] = rel_id;
    if (!passes(0)) return true;
    return emit();
  }

  // ---- rows ----
  // A row that passed every condition. False stops the walk (page full, TOP reached, error).
  bool emit() {
    if (q_.aggregates) return accumulate();
    if (rows_.size() == opt_.page_size) {
      more_ = true;  // a row beyond this page: there is a next one
      return false;
    }
    if (q_.select_star) {
      rows_.push_back(*bound_[0]);
    } else {
      json row = json::object();
      for (const auto& p : q_.projections) {
        if (const json* v = resolve(p.ref)) row[p.name] = *v;
      }
      rows_.push_back(std::move(row));
    }
    last_key_ = json::array();
    for (auto k : key_) last_key_.push_back(std::string(k));
    return rows_.size() < remaining_;
  }

  bool accumulate() {
    probe_.clear();
    for (const auto& g : q_.group_by) probe_.push_back(resolve(g));
    auto it = groups_.find(probe_);
    if (it == groups_.end()) {
      if (groups_.size() >= opt_.limits.max_groups) {
        error_ = status::invalid_argument("the query makes more than " + std::to_string(opt_.limits.max_groups) +
                                          " groups; group by fewer or coarser paths, or narrow the WHERE clause");
        return false;
      }
      json key = json::array();
      for (const json* v : probe_) key.push_back(v ? json::array({*v}) : json::array());
      it = groups_.emplace(std::move(key), std::vector<accumulator>(q_.projections.size())).first;
    }
    for (std::size_t i = 0; i < q_.projections.size(); ++i) {
      const projection& p = q_.projections[i];
      accumulator& a = it->second[i];
      if (p.agg == aggregate::count) {
        ++a.count;
        continue;
      }
      if (p.agg == aggregate::none) continue;
      const json* v = resolve(p.ref);
      if (!v) continue;
      if (p.agg == aggregate::sum || p.agg == aggregate::avg) {
        if (!v->is_number()) continue;
        ++a.count;
        a.sum += v->get<double>();
        bool exact = !v->is_number_float() &&
                     (!v->is_number_unsigned() || v->get<std::uint64_t>() <= std::numeric_limits<std::int64_t>::max());
        if (a.all_integers && (!exact || __builtin_add_overflow(a.int_sum, v->get<std::int64_t>(), &a.int_sum))) {
          a.all_integers = false;  // from here on the double sum is the answer
        }
      } else if (v->is_number() || v->is_string()) {
        bool better =
            !a.best || (p.agg == aggregate::min ? less_for_minmax(*v, *a.best) : less_for_minmax(*a.best, *v));
        if (better) a.best = *v;
      }
    }
    return true;
  }

  json group_rows() {
    json rows = json::array();
    auto it = groups_.begin();
    if (resume_) it = groups_.upper_bound(resume_->key);
    for (; it != groups_.end(); ++it) {
      if (rows.size() == opt_.page_size) {
        more_ = true;
        break;
      }
      json row = json::object();
      for (std::size_t i = 0; i < q_.projections.size(); ++i) {
        const projection& p = q_.projections[i];
        const accumulator& a = it->second[i];
        switch (p.agg) {
          case aggregate::none: {
            const json& g = it->first[p.group];
            if (!g.empty()) row[p.name] = g[0];
            break;
          }
          case aggregate::count: row[p.name] = a.count; break;
          case aggregate::sum:
            if (a.count == 0) break;
            if (a.all_integers) {
              row[p.name] = a.int_sum;
            } else {
              row[p.name] = a.sum;
            }
            break;
          case aggregate::avg:
            if (a.count > 0) row[p.name] = a.sum / static_cast<double>(a.count);
            break;
          case aggregate::min:
          case aggregate::max:
            if (a.best) row[p.name] = *a.best;
            break;
        }
      }
      rows.push_back(std::move(row));
      last_key_ = it->first;
    }
    return rows;
  }

  const query_ast& q_;
  const query_source& src_;
  const query_options& opt_;
  const continuation* resume_;
  std::vector<std::string> resume_key_;

  std::vector<std::vector<const expr*>> conditions_;  // by JOIN level
  std::vector<std::uint64_t> cost_;                   // by JOIN level: one visit plus its conditions
  std::vector<std::vector<std::string>> model_sets_;  // by IS_OF_MODEL slot

  std::vector<const json*> bound_;     // by collection
  std::vector<std::string_view> key_;  // the current row's sort key
  std::uint64_t work_ = 0;
  std::uint64_t remaining_ = std::numeric_limits<std::uint64_t>::max();  // rows TOP still allows
  json rows_ = json::array();
  json last_key_;
  bool more_ = false;
  std::map<json, std::vector<accumulator>, group_less> groups_;
  probe probe_;  // the current row's group key
  status error_;
};

}  // namespace

result<json> evaluate(const query_ast& q, const query_source& source, const query_options& options,
                      const continuation* resume) {
  return evaluator(q, source, options, resume).run();
}

}  // namespace doppel::twin::detail
