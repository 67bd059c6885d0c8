#pragma once

// The HTTP adapter: puts a request handler (Service::Handle) on a TCP socket. The only code that
// knows the HTTP library (cpp-httplib, in http_server.cpp); it turns its requests into
// HttpRequest and HttpResponse into its responses, streams file responses, writes one access
// log line per request, and answers the library's own errors (an oversized body, a malformed
// request) in the service's JSON error shape. Bodies are read by the adapter itself, counted
// against a limit per path: on the streamed upload paths the file parts of a multipart body go
// straight to fresh files in `upload_dir` (UploadedPart::file), never into memory. A multipart
// body has at most 16 parts, at most 2 of them streamed to files. A request refused before its
// body was read in full (by `preflight`, a limit, a malformed body) reads at most 1 MiB more of
// it, is answered with `Connection: close` and its connection closed, so that the unread rest is
// never taken for a next request. Every response says `X-Content-Type-Options: nosniff`.
//
//   HttpServer server([&](HttpRequest request) { return service.Handle(std::move(request)); },
//                     {.host = "127.0.0.1", .port = 0});
//   int port = server.Bind();        // port 0: an ephemeral port
//   std::thread serving([&] { server.Run(); });
//   ...
//   server.Stop();                   // Run() returns once in-flight requests are answered
//   serving.join();

#include "phytoflow/server/http_message.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace phytoflow {

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (see Bind())
  // Request threads. The library serves each connection on one thread for as long as it is
  // kept alive, so this bounds the clients served at once; others wait in the queue.
  int threads = 64;
  size_t max_body_bytes = size_t{64} << 20;  // larger bodies get 413 (streamed uploads aside)
  // POST paths (exact, e.g. "/api/v1/uploads") whose multipart parts with a filename are
  // streamed to new files in `upload_dir`, named by the adapter, up to `max_upload_bytes` in all
  // (413 above it, the files removed). Their other fields stay in memory, within
  // `max_body_bytes`. The handler may move a part's file away to keep it (see UploadedPart);
  // whatever is left is removed after the response.
  std::vector<std::string> streamed_upload_paths;
  std::filesystem::path upload_dir;  // empty: the system's temporary folder
  uint64_t max_upload_bytes = uint64_t{4} << 30;
  int keep_alive_seconds = 2;  // also how long Stop() may wait for an idle connection
  // One line per request: remote address, method, path, status, bytes, milliseconds. Called
  // from request threads; empty: no log.
  std::function<void(const std::string& line)> access_log;
  // Asked with the request line and headers (no body yet) before a body is read, and when a
  // client sends `Expect: 100-continue`: a response refuses the request (e.g. a 401 from
  // Service::Preflight) without its body being stored anywhere; nullopt lets it go on. Empty:
  // every body is read.
  std::function<std::optional<HttpResponse>(const HttpRequest& head)> preflight;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(HttpRequest)>;

  // `handler` must not throw (a throw is answered with 500 in the JSON error shape).
  HttpServer(Handler handler, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket and returns its port. Throws Error{kUnavailable} naming host
  // and port if it cannot (in use, no permission, unknown host).
  int Bind();
  // Serves until Stop(); returns when the requests in flight have been answered. Bind() first.
  void Run();
  // Stops accepting connections and makes Run() return. Thread-safe; may be called before Run.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phytoflow
