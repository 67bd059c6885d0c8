#include "phytoflow/server/http_server.h"

#include "phytoflow/core/error.h"
#include "phytoflow/server/http_error.h"

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/core.h>
#include <httplib.h>
#include <sys/socket.h>

namespace phytoflow {
namespace {

constexpr size_t kFileChunkBytes = size_t{64} << 10;
constexpr int kReadTimeoutSeconds = 30;
constexpr int kWriteTimeoutSeconds = 30;
// Requests per kept-alive connection before the library closes it; high, so that load tests
// and browsers keep their connections.
constexpr size_t kKeepAliveMaxRequests = 100000;

// What the access log needs of the request being answered on this thread. The library calls the
// logger on the thread that wrote the response, after its body.
struct RequestTiming {
  std::optional<std::chrono::steady_clock::time_point> start;
  uint64_t bytes = 0;
};
thread_local RequestTiming current_request;

std::string Lowercase(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

HttpRequest FromLibrary(const httplib::Request& request) {
  HttpRequest converted{.method = request.method,
                        .path = request.path,
                        .body = request.body,
                        .remote_address = request.remote_addr};
  for (const auto& [name, value] : request.params) {
    converted.query.emplace(name, value);
  }
  for (const auto& [name, value] : request.headers) {
    converted.headers.emplace(Lowercase(name), value);  // a repeated header keeps its first value
  }
  for (const auto& [name, part] : request.files) {
    converted.parts.push_back(UploadedPart{.name = part.name,
                                           .filename = part.filename,
                                           .content_type = part.content_type,
                                           .content = part.content});
  }
  return converted;
}

// Streams a file in chunks; removes it afterwards when it is a temporary download.
void SetFileContent(httplib::Response& out, const HttpResponse& response) {
  auto in = std::make_shared<std::ifstream>(*response.file, std::ios::binary);
  const uint64_t size = response.BodyBytes();
  if (!*in) {
    const HttpResponse error = ErrorResponse(500, "internal", "the response file vanished");
    out.status = error.status;
    out.set_content(error.body, error.content_type);
    return;
  }
  const std::filesystem::path path = *response.file;
  const bool remove = response.remove_file_after;
  out.set_content_provider(
      static_cast<size_t>(size),
      response.content_type,
      [in](size_t offset, size_t length, httplib::DataSink& sink) {
        std::vector<char> buffer(std::min(length, kFileChunkBytes));
        in->seekg(static_cast<std::streamoff>(offset));
        in->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const auto read = static_cast<size_t>(in->gcount());
        return read > 0 && sink.write(buffer.data(), read);
      },
      [path, remove](bool /*success*/) {
        if (remove) {
          std::error_code ignored;
          std::filesystem::remove(path, ignored);
        }
      });
}

void ToLibrary(const HttpResponse& response, httplib::Response& out) {
  out.status = response.status;
  for (const auto& [name, value] : response.headers) {
    out.set_header(name, value);
  }
  if (response.file) {
    SetFileContent(out, response);
  } else if (!response.body.empty() || !response.content_type.empty()) {
    out.set_content(response.body, response.content_type);
  }
}

}  // namespace

struct HttpServer::Impl {
  Handler handler;
  HttpServerOptions options;
  httplib::Server server;
  int port = -1;
  int listen_socket = -1;  // the socket the library bound, seen through the socket options
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> run_started{false};
  std::atomic<bool> run_finished{false};
};

HttpServer::HttpServer(Handler handler, HttpServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->options = std::move(options);
  httplib::Server& server = impl_->server;
  const size_t threads = static_cast<size_t>(std::max(impl_->options.threads, 1));
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  // Without it every kept-alive response waits ~40 ms for Nagle's algorithm.
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(kKeepAliveMaxRequests);
  server.set_keep_alive_timeout(impl_->options.keep_alive_seconds);
  server.set_read_timeout(kReadTimeoutSeconds);
  server.set_write_timeout(kWriteTimeoutSeconds);
  server.set_payload_max_length(impl_->options.max_body_bytes);

  Impl* impl = impl_.get();
  server.set_socket_options([impl](int socket) {
    // SO_REUSEADDR lets a restarted server bind while old connections linger in TIME_WAIT. The
    // library's default is SO_REUSEPORT instead, which lets a second server bind the same port
    // and silently take half of the connections.
    const int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    impl->listen_socket = socket;
  });
  const auto bridge = [impl](const httplib::Request& request, httplib::Response& out) {
    current_request.start = std::chrono::steady_clock::now();
    HttpResponse response;
    try {
      response = impl->handler(FromLibrary(request));
    } catch (const std::exception& error) {
      response = ErrorResponse(500, "internal", error.what());
    }
    current_request.bytes = response.BodyBytes();
    ToLibrary(response, out);
  };
  // Every path goes to the handler, which does its own routing (Router).
  server.Get(".*", bridge);
  server.Post(".*", bridge);
  server.Put(".*", bridge);
  server.Patch(".*", bridge);
  server.Delete(".*", bridge);
  server.Options(".*", bridge);

  // The library's own errors (413 for an oversized body, 400 for a malformed request line or
  // a method it does not know) in the service's shape; responses of ours already have a body.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& out) {
        if (!out.body.empty() || out.content_provider_) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        const HttpResponse error =
            ErrorResponse(out.status,
                          DefaultErrorCode(out.status),
                          out.status == 413 ? "the request body is larger than the server accepts"
                                            : "the request could not be read as HTTP/1.1");
        out.set_content(error.body, error.content_type);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& out, std::exception_ptr) {
        const HttpResponse error = ErrorResponse(500, "internal", "unexpected failure");
        out.status = 500;
        out.set_content(error.body, error.content_type);
      });
  server.set_logger([impl](const httplib::Request& request, const httplib::Response& out) {
    const RequestTiming timing = std::exchange(current_request, RequestTiming{});
    if (!impl->options.access_log) {
      return;
    }
    const std::string elapsed =
        timing.start ? fmt::format("{:.1f}ms",
                                   std::chrono::duration<double, std::milli>(
                                       std::chrono::steady_clock::now() - *timing.start)
                                       .count())
                     : "-";
    const uint64_t bytes = timing.start ? timing.bytes : out.body.size();
    impl->options.access_log(fmt::format("{} {} {} {} {}B {}",
                                         request.remote_addr,
                                         request.method,
                                         request.path,
                                         out.status,
                                         bytes,
                                         elapsed));
  });
}

HttpServer::~HttpServer() {
  Stop();
}

int HttpServer::Bind() {
  httplib::Server& server = impl_->server;
  const std::string& host = impl_->options.host;
  const int port = impl_->options.port;
  const int bound =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  Check(bound > 0,
        ErrorCode::kUnavailable,
        "cannot listen on " + host + ":" + std::to_string(port) +
            " (in use, no permission, or not an address of this machine)");
  // The library listens with a backlog of 5: when 64 clients connect at once, the SYNs beyond it
  // are dropped and those clients retry after a second or more. Listening again on the bound
  // socket raises the backlog.
  Check(::listen(impl_->listen_socket, SOMAXCONN) == 0,
        ErrorCode::kUnavailable,
        "cannot raise the listen backlog on " + host + ":" + std::to_string(bound));
  impl_->port = bound;
  return bound;
}

void HttpServer::Run() {
  Check(impl_->port > 0, ErrorCode::kInternal, "HttpServer::Run before Bind");
  impl_->run_started = true;
  if (!impl_->stop_requested) {
    impl_->server.listen_after_bind();
  }
  impl_->run_finished = true;
}

void HttpServer::Stop() {
  impl_->stop_requested = true;
  // The library's stop() does nothing until its loop runs; a Run() that is starting is waited
  // for, so that a stop never gets lost.
  while (impl_->run_started && !impl_->run_finished && !impl_->server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->server.stop();
}

}  // namespace phytoflow
