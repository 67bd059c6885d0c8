#pragma once

// The HTTP adapter: puts a request handler (Service::Handle) on a TCP socket. The only code that
// knows the HTTP library (cpp-httplib, in http_server.cpp); it turns its requests into
// HttpRequest and HttpResponse into its responses, streams file responses, writes one access
// log line per request, and answers the library's own errors (an oversized body, a malformed
// request) in the service's JSON error shape.
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
#include <functional>
#include <memory>
#include <string>

namespace phytoflow {

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (see Bind())
  // Request threads. The library serves each connection on one thread for as long as it is
  // kept alive, so this bounds the clients served at once; others wait in the queue.
  int threads = 64;
  size_t max_body_bytes = size_t{64} << 20;  // larger bodies get 413
  int keep_alive_seconds = 2;                // also how long Stop() may wait for an idle connection
  // One line per request: remote address, method, path, status, bytes, milliseconds. Called
  // from request threads; empty: no log.
  std::function<void(const std::string& line)> access_log;
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
