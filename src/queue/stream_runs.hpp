// The streamed jobs running in a worker, and the cancel notices that stop them
// (job_stream.hpp). A streamed job's handler runs on a strand of its own, bound to a
// cancellation signal; its pieces go to the asker's reply stream as delta entries
// (delta_writer.hpp). A cancel notice naming a job that runs here emits its signal, which
// aborts the model call. The table of runs lives on the owner's strand, where the notices
// are read too.
#pragma once

#include "ragd/queue/job.hpp"
#include "ragd/queue/queue_config.hpp"
#include "ragd/queue/worker_runner.hpp"
#include "ragd/redis/client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace ragd::queue::detail {

class StreamRuns {
 public:
  // `redis`, `config` and `consumer` outlive this object; `strand` is the owner's.
  StreamRuns(boost::asio::any_io_executor ex, boost::asio::strand<boost::asio::any_io_executor> strand,
             redis::Client& redis, const QueueConfig& config, const std::string& consumer);
  ~StreamRuns();

  // Runs `handler` for `job`. Every piece it published is written before this returns, so
  // they precede the reply; a cancel notice ends it with error `cancelled`.
  boost::asio::awaitable<JobReply> run(const StreamJobHandler& handler, Job job);

  // Reads cancel notices, from the stream's end as it was at start, until `stopping` is set
  // (seen within one blocking read). Runs on the owner's strand, on a connection of its own.
  boost::asio::awaitable<void> read_cancels(const std::atomic<bool>& stopping);

 private:
  struct Table;
  boost::asio::any_io_executor ex_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  redis::Client& redis_;
  const QueueConfig& config_;
  const std::string& consumer_;
  std::shared_ptr<Table> table_;
};

}  // namespace ragd::queue::detail
