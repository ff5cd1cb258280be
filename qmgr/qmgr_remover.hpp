// qmgr's remover: finished queue files are unlinked on threads of their
// own. Freeing a file's blocks may wait for the disk (a filesystem mounted
// with discard trims them there and then, one unlink at a time), and the
// event loop that hands out deliveries must not wait with it; several
// threads keep several such waits going at once. qmgr marks every recipient
// of a file done before the file comes here, so a qmgr killed before the
// unlink finds nothing to deliver in it at start, and removes it then. The
// removals pending are bounded, and so is the memory they take.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kurir::qmgr {

class Remover {
public:
    Remover(size_t limit, size_t threads);
    ~Remover();  // every removal asked for is done (failures logged) before this returns
    Remover(const Remover&) = delete;
    Remover& operator=(const Remover&) = delete;

    // Queues path for removal; waits while `limit` removals are pending.
    void remove(std::string path);
    // Removals that failed since the last call ("remove PATH: reason"), for
    // the caller's thread to log.
    std::vector<std::string> take_failures();

private:
    void run();

    const size_t limit_;
    std::mutex mutex_;
    std::condition_variable work_, room_;
    std::deque<std::string> queued_;
    size_t in_progress_ = 0;
    std::vector<std::string> failures_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;  // last: start once the members they use exist
};

}  // namespace kurir::qmgr
