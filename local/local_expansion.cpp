#include "local/local_expansion.hpp"

#include <algorithm>

namespace kurir::local {

Expansion::Visit Expansion::enter(const std::string& key) {
    if (std::find(open_.begin(), open_.end(), key) != open_.end()) return Visit::loop;
    if (done_.count(key)) return Visit::again;
    if (++items_ > max_items_) return Visit::too_many;
    if (open_.size() >= max_depth_) return Visit::too_deep;
    open_.push_back(key);
    return Visit::first;
}

Expansion::Visit Expansion::peek(const std::string& key) const {
    if (std::find(open_.begin(), open_.end(), key) != open_.end()) return Visit::loop;
    if (done_.count(key)) return Visit::again;
    if (items_ + 1 > max_items_) return Visit::too_many;
    if (open_.size() >= max_depth_) return Visit::too_deep;
    return Visit::first;
}

void Expansion::leave(const std::string& key) {
    auto it = std::find(open_.begin(), open_.end(), key);
    if (it == open_.end()) return;
    open_.erase(it);
    done_.insert(key);
}

Expansion::Visit Expansion::deliver(const std::string& key) {
    if (done_.count(key)) return Visit::again;
    if (++items_ > max_items_) return Visit::too_many;
    done_.insert(key);
    return Visit::first;
}

}  // namespace kurir::local
