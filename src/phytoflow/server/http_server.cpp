#include "phytoflow/server/http_server.h"

#include "phytoflow/core/error.h"
#include "phytoflow/server/http_error.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

namespace phytoflow {
namespace {

constexpr size_t kFileChunkBytes = size_t{64} << 10;
constexpr int kReadTimeoutSeconds = 30;
constexpr int kWriteTimeoutSeconds = 30;
// Requests per kept-alive connection before the library closes it; high, so that load tests
// and browsers keep their connections.
constexpr size_t kKeepAliveMaxRequests = 100000;
// Of a body that is refused (over a limit, not authorized, malformed), at most this much more is
// read and dropped: a modest body is read to its end, so that the client, which may still be
// sending, reads the answer; past it the connection is closed instead of read on.
constexpr uint64_t kDrainBytes = uint64_t{1} << 20;
// Parts of one multipart body; of a streamed upload, parts written to files. Every route takes
// one or two named parts: the caps stop a body of many small parts from making a file (or an
// in-memory part) of each.
constexpr size_t kMaxParts = 16;
constexpr size_t kMaxFileParts = 2;
// What an in-memory part costs besides its bytes, counted against max_body_bytes.
constexpr uint64_t kPartOverheadBytes = 256;

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

// A request body as it arrives from the library's content reader: counted against the limits
// of its path, the file parts of a streamed upload written to fresh files, everything else kept
// in memory. Beyond a limit, or past the part caps, at most kDrainBytes more are read and
// dropped; then the reader stops, and the connection is closed after the answer.
class BodyCollector {
 public:
  BodyCollector(HttpRequest& request, bool streamed, const HttpServerOptions& options)
      : request_(request), streamed_(streamed), options_(options) {}
  // Removes the part files the handler left (one it moved away is not found, and stays).
  ~BodyCollector() {
    CloseFile();
    for (const std::filesystem::path& file : files_) {
      std::error_code ignored;
      std::filesystem::remove(file, ignored);
    }
  }
  BodyCollector(const BodyCollector&) = delete;
  BodyCollector& operator=(const BodyCollector&) = delete;

  bool StartPart(const httplib::MultipartFormData& header) {
    CloseFile();
    if (!Usable()) {
      return true;
    }
    const bool to_file = streamed_ && !header.filename.empty();
    file_parts_ += to_file ? 1 : 0;
    if (request_.parts.size() == kMaxParts || file_parts_ > kMaxFileParts) {
      too_many_parts_ = true;
      return true;
    }
    in_memory_ += header.name.size() + header.filename.size() + header.content_type.size() +
                  kPartOverheadBytes;
    if (in_memory_ > options_.max_body_bytes) {
      too_large_ = true;
      too_large_in_memory_ = true;
      return true;
    }
    request_.parts.push_back(UploadedPart{
        .name = header.name, .filename = header.filename, .content_type = header.content_type});
    if (to_file) {
      OpenFile();
    }
    return true;
  }

  // False once more than kDrainBytes were dropped: the reader stops there.
  bool Add(const char* data, size_t length) {
    if (!Usable()) {
      dropped_ += length;
      return dropped_ <= kDrainBytes;
    }
    total_ += length;
    const bool to_file = file_ != nullptr;
    if (!to_file) {
      in_memory_ += length;
    }
    const uint64_t limit = streamed_ ? options_.max_upload_bytes : options_.max_body_bytes;
    if (total_ > limit || in_memory_ > options_.max_body_bytes) {
      too_large_ = true;
      too_large_in_memory_ = total_ <= limit;
      CloseFile();
    }
    if (!Usable()) {
      return true;  // drop the rest (see above)
    }
    if (to_file) {
      file_->write(data, static_cast<std::streamsize>(length));
      if (!*file_) {
        failure_ = "cannot write the upload to " + options_.upload_dir.string();
        CloseFile();
      }
    } else if (request_.parts.empty()) {
      request_.body.append(data, length);
    } else {
      request_.parts.back().content.append(data, length);
    }
    return true;
  }

  static HttpResponse TooLarge(uint64_t limit, std::string_view what = "") {
    return ErrorResponse(
        413,
        "payload_too_large",
        fmt::format(
            "the request body is larger than the server accepts ({} MiB{})", limit >> 20, what));
  }

  // The library refused the body itself: its Content-Length is above every limit.
  void RefusedAsTooLarge() { too_large_ = true; }

  // Finishes the last file part. Returns the error response for a body over its limit or one
  // that could not be stored; nullopt when the body is complete.
  std::optional<HttpResponse> Finish() {
    CloseFile();
    if (too_many_parts_) {
      return ErrorResponse(
          413,
          "payload_too_large",
          fmt::format("a multipart body may have at most {} parts{}",
                      kMaxParts,
                      streamed_ ? fmt::format(", {} of them files", kMaxFileParts) : ""));
    }
    if (too_large_) {
      const uint64_t limit =
          streamed_ && !too_large_in_memory_ ? options_.max_upload_bytes : options_.max_body_bytes;
      return TooLarge(limit, too_large_in_memory_ ? " of form fields besides files" : "");
    }
    if (!failure_.empty()) {
      return ErrorResponse(503, "unavailable", failure_);
    }
    return std::nullopt;
  }

 private:
  bool Usable() const { return !too_large_ && !too_many_parts_ && failure_.empty(); }

  void OpenFile() {
    const std::filesystem::path folder =
        options_.upload_dir.empty() ? std::filesystem::temp_directory_path() : options_.upload_dir;
    std::string pattern = (folder / "phytoflow-part-XXXXXX").string();
    const int descriptor = mkstemp(pattern.data());
    if (descriptor < 0) {
      failure_ = "cannot store the upload in " + folder.string();
      return;
    }
    ::close(descriptor);
    files_.emplace_back(pattern);
    file_ = std::make_unique<std::ofstream>(pattern, std::ios::binary | std::ios::trunc);
    request_.parts.back().file = files_.back();
  }

  void CloseFile() {
    if (file_) {
      file_->close();
      if (!*file_ && failure_.empty()) {
        failure_ = "cannot write the upload to " + options_.upload_dir.string();
      }
      file_.reset();
    }
  }

  HttpRequest& request_;
  bool streamed_;
  const HttpServerOptions& options_;
  uint64_t total_ = 0;      // bytes of the body so far
  uint64_t in_memory_ = 0;  // of which kept in memory
  bool too_large_ = false;
  bool too_large_in_memory_ = false;  // over max_body_bytes in memory, not over the upload limit
  bool too_many_parts_ = false;       // over kMaxParts or kMaxFileParts
  size_t file_parts_ = 0;
  uint64_t dropped_ = 0;  // bytes read and dropped since the body became unusable
  std::string failure_;
  std::unique_ptr<std::ofstream> file_;  // of the current part, when it is streamed
  std::vector<std::filesystem::path> files_;
};

// A request without Content-Length that is not chunked has no body; the library would wait for
// the connection to close instead (curl -X POST sends neither).
bool HasBody(const httplib::Request& request) {
  return request.has_header("Content-Length") ||
         request.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
}

// Reads at most kDrainBytes of a body that will not be used and drops them. Returns whether the
// body was read to its end (else the connection must be closed).
bool DrainBody(const httplib::Request& request, const httplib::ContentReader& content_reader) {
  if (!HasBody(request)) {
    return true;
  }
  uint64_t dropped = 0;
  const auto drop = [&dropped](const char* /*data*/, size_t length) {
    dropped += length;
    return dropped <= kDrainBytes;
  };
  if (request.is_multipart_form_data()) {
    return content_reader([](const httplib::MultipartFormData&) { return true; }, drop);
  }
  return content_reader(drop);
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

// Sends `body` and then reports a failure, the one way to make the library close the connection
// after a response (a Connection header of the response alone does not).
void SetContentThenClose(httplib::Response& out, std::string body, const std::string& type) {
  auto shared = std::make_shared<const std::string>(std::move(body));
  out.set_content_provider(
      shared->size(), type, [shared](size_t offset, size_t length, httplib::DataSink& sink) {
        sink.write(shared->data() + offset, length);
        return false;
      });
}

// `close`: the connection is closed after the response (see SetContentThenClose); `request` then
// says `Connection: close`, so that the library writes that header instead of Keep-Alive. Only
// for responses with a body in memory (errors).
void ToLibrary(const HttpResponse& response,
               httplib::Response& out,
               const httplib::Request* close = nullptr) {
  out.status = response.status;
  for (const auto& [name, value] : response.headers) {
    out.headers.erase(name);  // a default header (X-Content-Type-Options) the handler sets too
  }
  for (const auto& [name, value] : response.headers) {
    out.set_header(name, value);
  }
  if (close != nullptr && !response.file && !response.body.empty()) {
    // The library's request object is ours to change: it is not const where the library made it.
    const_cast<httplib::Request*>(close)->set_header("Connection", "close");
    SetContentThenClose(out, response.body, response.content_type);
  } else if (response.file) {
    SetFileContent(out, response);
  } else if (!response.body.empty() || !response.content_type.empty()) {
    out.set_content(response.body, response.content_type);
  }
}

}  // namespace

struct HttpServer::Impl {
  Handler handler;
  HttpServerOptions options;

  bool Streamed(const httplib::Request& request) const {
    return request.method == "POST" &&
           std::find(options.streamed_upload_paths.begin(),
                     options.streamed_upload_paths.end(),
                     request.path) != options.streamed_upload_paths.end();
  }
  uint64_t BodyLimit(const httplib::Request& request) const {
    return Streamed(request) ? options.max_upload_bytes : options.max_body_bytes;
  }
  std::optional<HttpResponse> Preflight(const httplib::Request& request) const {
    if (!options.preflight) {
      return std::nullopt;
    }
    try {
      return options.preflight(FromLibrary(request));
    } catch (const std::exception& error) {
      return ErrorResponse(500, "internal", error.what());
    }
  }
  // A Content-Length above the path's limit: refused before anything is read.
  bool AnnouncedTooLarge(const httplib::Request& request) const {
    return request.has_header("Content-Length") &&
           std::strtoull(request.get_header_value("Content-Length").c_str(), nullptr, 10) >
               BodyLimit(request);
  }
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
  // The library's own limit, for an announced Content-Length: the largest any path takes. Each
  // path's own limit is applied while its body is read (BodyCollector).
  uint64_t largest_body = impl_->options.max_body_bytes;
  if (!impl_->options.streamed_upload_paths.empty()) {
    largest_body = std::max(largest_body, impl_->options.max_upload_bytes);
  }
  server.set_payload_max_length(static_cast<size_t>(largest_body));

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
  // Requests with a body: read here, so that each path's limit holds and uploads are streamed.
  // Whatever is refused before the body was read to its end is answered on a connection that is
  // then closed: the unread rest of the body must never be parsed as a next request.
  const auto read_then_bridge = [impl](const httplib::Request& request,
                                       httplib::Response& out,
                                       const httplib::ContentReader& content_reader) {
    current_request.start = std::chrono::steady_clock::now();
    std::optional<HttpResponse> refused = impl->Preflight(request);
    if (!refused && impl->AnnouncedTooLarge(request)) {
      refused = BodyCollector::TooLarge(impl->BodyLimit(request));
    }
    if (refused) {  // nothing of the body is stored; a little is read so that the client hears
      DrainBody(request, content_reader);
      current_request.bytes = refused->BodyBytes();
      ToLibrary(*refused, out, &request);
      return;
    }
    HttpRequest converted = FromLibrary(request);
    HttpResponse response;
    bool close = false;
    {
      BodyCollector body(converted, impl->Streamed(request), impl->options);
      bool read = true;
      if (request.is_multipart_form_data()) {
        read = content_reader(
            [&](const httplib::MultipartFormData& header) { return body.StartPart(header); },
            [&](const char* data, size_t length) { return body.Add(data, length); });
      } else if (HasBody(request)) {
        read =
            content_reader([&](const char* data, size_t length) { return body.Add(data, length); });
      }
      if (!read && out.status == 413) {  // set by the library (set_payload_max_length)
        body.RefusedAsTooLarge();
      }
      if (std::optional<HttpResponse> failed = body.Finish()) {
        response = std::move(*failed);
        close = true;
      } else if (!read) {
        response = ErrorResponse(400, "bad_request", "the request body could not be read");
        close = true;
      } else {
        try {
          response = impl->handler(std::move(converted));
        } catch (const std::exception& error) {
          response = ErrorResponse(500, "internal", error.what());
        }
      }
    }  // the part files the handler did not take are removed here, before the response is sent
    current_request.bytes = response.BodyBytes();
    ToLibrary(response, out, close ? &request : nullptr);
  };
  // Every path goes to the handler, which does its own routing (Router). The library gives a
  // request to the content-reader handlers when it expects a body (always for POST, PUT and
  // PATCH; DELETE with a Content-Length), else to the plain ones.
  server.Post(".*", read_then_bridge);
  server.Put(".*", read_then_bridge);
  server.Patch(".*", read_then_bridge);
  server.Delete(".*", read_then_bridge);
  server.Get(".*", bridge);
  server.Delete(".*", bridge);
  server.Options(".*", bridge);
  // A client that asks before sending a body (Expect: 100-continue, as curl does for large
  // ones) learns at once that it may not send it, or that it is too large. The connection is
  // closed after the refusal: a client may send the body anyway.
  server.set_expect_100_continue_handler(
      [impl](const httplib::Request& request, httplib::Response& out) {
        current_request.start = std::chrono::steady_clock::now();
        std::optional<HttpResponse> refused = impl->Preflight(request);
        if (!refused && impl->AnnouncedTooLarge(request)) {
          refused = BodyCollector::TooLarge(impl->BodyLimit(request));
        }
        if (!refused) {
          return 100;
        }
        current_request.bytes = refused->BodyBytes();
        ToLibrary(*refused, out, &request);
        return refused->status;
      });
  server.set_default_headers({{"X-Content-Type-Options", "nosniff"}});

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
