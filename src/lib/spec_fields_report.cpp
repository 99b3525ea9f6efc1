// `caprun check`'s field section: one line per field the config sets, saying what caprun
// does with it. Text groups the elements of an array that share a decision
// ("mounts[*].type"); JSON lists every concrete path.
#include <map>
#include <sstream>
#include <tuple>

#include "caprun/check_report.hpp"
#include "caprun/spec_fields.hpp"

namespace caprun {

void addFieldSection(CheckReport& r, const FieldPlan& plan) {
    rapidjson::Value arr(rapidjson::kArrayType);
    struct Group {
        std::string firstPath;
        std::size_t count = 0;
    };
    using Key = std::tuple<std::string, Verdict, std::string>;
    std::map<Key, Group> groups;
    std::vector<Key> order;
    for (const auto& d : plan.fields) {
        rapidjson::Value o(rapidjson::kObjectType);
        o.AddMember("path", jsonString(r, d.path), r.alloc());
        o.AddMember("field", jsonString(r, d.field), r.alloc());
        o.AddMember("decision", rapidjson::StringRef(verdictName(d.verdict)), r.alloc());
        o.AddMember("why", jsonString(r, d.why), r.alloc());
        arr.PushBack(o, r.alloc());
        Key k{d.field, d.verdict, d.why};
        auto [it, fresh] = groups.try_emplace(k);
        if (fresh) {
            it->second.firstPath = d.path;
            order.push_back(k);
        }
        ++it->second.count;
    }
    r.set("fields", std::move(arr));

    std::ostringstream t;
    t << "Fields (" << plan.fields.size() << " set):\n";
    for (const auto& k : order) {
        const auto& [field, verdict, why] = k;
        const Group& g = groups[k];
        std::string shown = g.count > 1 ? field : g.firstPath;
        for (std::size_t p; (p = shown.find("[]")) != std::string::npos;)
            shown.replace(p, 2, "[*]");
        for (std::size_t p; (p = shown.find("{}")) != std::string::npos;)
            shown.replace(p, 2, "{*}");
        t << "  " << verdictName(verdict) << "  " << shown;
        if (g.count > 1) t << " (" << g.count << ")";
        if (!why.empty()) t << ": " << why;
        t << "\n";
    }
    r.text += t.str();
    // Brief: the counts, then every refused field (each also fails check).
    std::map<Verdict, std::size_t> counts;
    for (const auto& d : plan.fields) ++counts[d.verdict];
    std::string b = "Fields:      " + std::to_string(plan.fields.size()) + " set: ";
    const Verdict all[] = {Verdict::Applied, Verdict::Refused, Verdict::Ignored};
    for (std::size_t i = 0; i < 3; ++i)
        b += (i ? ", " : "") + std::to_string(counts[all[i]]) + " " + verdictName(all[i]);
    b += "\n";
    for (const auto& d : plan.fields)
        if (d.verdict == Verdict::Refused) b += "  refused  " + d.path + ": " + d.why + "\n";
    r.brief += b;
}

}  // namespace caprun
