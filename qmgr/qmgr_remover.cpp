#include "qmgr/qmgr_remover.hpp"
#include "util/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace kurir::qmgr {

Remover::Remover(size_t limit, size_t threads) : limit_(limit == 0 ? 1 : limit) {
    for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) threads_.emplace_back([this] { run(); });
}

Remover::~Remover() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_.notify_all();
    for (auto& t : threads_) t.join();
    for (const auto& failure : failures_) util::msg_warn("{}", failure);  // alone now: nobody else to tell
}

void Remover::remove(std::string path) {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return queued_.size() + in_progress_ < limit_; });
    queued_.push_back(std::move(path));
    lock.unlock();
    work_.notify_one();
}

std::vector<std::string> Remover::take_failures() {
    std::lock_guard lock(mutex_);
    return std::exchange(failures_, {});
}

void Remover::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        work_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
        if (queued_.empty()) return;  // stopping, and nothing is left
        std::string path = std::move(queued_.front());
        queued_.pop_front();
        ++in_progress_;
        lock.unlock();
        int failed = ::unlink(path.c_str()) < 0 ? errno : 0;
        lock.lock();
        --in_progress_;
        if (failed) failures_.push_back("remove " + path + ": " + std::strerror(failed));
        room_.notify_one();
    }
}

}  // namespace kurir::qmgr
