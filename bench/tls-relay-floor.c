// The native floor for bench/proxy.mjs: bench/tls-relay-floor.mjs written in C against OpenSSL, so the
// bench can show what an intercepting relay costs on this machine when no JavaScript touches the bytes.
// It answers CONNECT, terminates the child's TLS, opens verified TLS to the server and passes bytes
// both ways, swapping the placeholder for the key where it appears; one thread per connection, no
// HTTP parsed. Only for the bench's own GETs (a request is small; a write that blocks cannot deadlock).
// Build: cc -O2 -o tls-relay-floor tls-relay-floor.c -lssl -lcrypto -lpthread
// Usage: tls-relay-floor CERT KEY CA UPSTREAM_PORT PLACEHOLDER SECRET  (prints its port)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static SSL_CTX *server_ctx, *upstream_ctx;
static int upstream_port;
static const char *placeholder, *secret;

static int tcp(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Reads the CONNECT head (the bench sends nothing after it before the answer) and answers 200.
static int answer_connect(int fd) {
  char head[4096];
  size_t n = 0;
  while (n < sizeof head - 1) {
    ssize_t r = read(fd, head + n, sizeof head - 1 - n);
    if (r <= 0) return 0;
    n += r;
    head[n] = 0;
    if (strstr(head, "\r\n\r\n")) {
      static const char ok[] = "HTTP/1.1 200 Connection Established\r\n\r\n";
      return write(fd, ok, sizeof ok - 1) == sizeof ok - 1;
    }
  }
  return 0;
}

// Writes the child's bytes upstream, in one record, with the placeholder swapped for the secret
// (once per piece: the bench's request head arrives in one record).
static int forward_request(SSL *up, const char *buf, int n) {
  static __thread char out[65536 + 1024];
  size_t pl = strlen(placeholder), sl = strlen(secret);
  const char *at = memmem(buf, n, placeholder, pl);
  if (!at || n - pl + sl > sizeof out) return SSL_write(up, buf, n) > 0;
  size_t before = at - buf, after = n - before - pl;
  memcpy(out, buf, before);
  memcpy(out + before, secret, sl);
  memcpy(out + before + sl, at + pl, after);
  return SSL_write(up, out, before + sl + after) > 0;
}

static void *relay(void *arg) {
  int child_fd = tcp((int)(long)arg), up_fd = -1;
  SSL *child = NULL, *up = NULL;
  static __thread char buf[65536];
  if (!answer_connect(child_fd)) goto done;
  child = SSL_new(server_ctx);
  SSL_set_fd(child, child_fd);
  if (SSL_accept(child) != 1) goto done;
  up_fd = tcp(socket(AF_INET, SOCK_STREAM, 0));
  struct sockaddr_in to = loopback(upstream_port);
  if (connect(up_fd, (struct sockaddr *)&to, sizeof to) != 0) goto done;
  up = SSL_new(upstream_ctx);
  SSL_set_fd(up, up_fd);
  SSL_set_tlsext_host_name(up, "localhost");
  SSL_set1_host(up, "localhost");
  if (SSL_connect(up) != 1) goto done;
  struct pollfd ready[2] = {{child_fd, POLLIN, 0}, {up_fd, POLLIN, 0}};
  for (;;) {
    // read-ahead may leave whole records inside OpenSSL that poll cannot see
    if (!SSL_has_pending(child) && !SSL_has_pending(up) && poll(ready, 2, -1) < 0) break;
    if (SSL_has_pending(child) || ready[0].revents) {
      int n = SSL_read(child, buf, sizeof buf);
      if (n <= 0 || !forward_request(up, buf, n)) break;
    }
    if (SSL_has_pending(up) || ready[1].revents) {
      int n = SSL_read(up, buf, sizeof buf);
      if (n <= 0 || SSL_write(child, buf, n) <= 0) break;
    }
    ready[0].revents = ready[1].revents = 0;
  }
done:
  SSL_free(child);
  SSL_free(up);
  close(child_fd);
  if (up_fd >= 0) close(up_fd);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s CERT KEY CA UPSTREAM_PORT PLACEHOLDER SECRET\n", argv[0]);
    return 2;
  }
  upstream_port = atoi(argv[4]);
  placeholder = argv[5];
  secret = argv[6];
  signal(SIGPIPE, SIG_IGN);
  server_ctx = SSL_CTX_new(TLS_server_method());
  upstream_ctx = SSL_CTX_new(TLS_client_method());
  if (SSL_CTX_use_certificate_file(server_ctx, argv[1], SSL_FILETYPE_PEM) != 1 || SSL_CTX_use_PrivateKey_file(server_ctx, argv[2], SSL_FILETYPE_PEM) != 1 || SSL_CTX_load_verify_locations(upstream_ctx, argv[3], NULL) != 1) {
    fprintf(stderr, "tls-relay-floor: cannot load the certificate, key or CA\n");
    return 1;
  }
  SSL_CTX_set_verify(upstream_ctx, SSL_VERIFY_PEER, NULL);
  // whole records per read: fewer system calls, as Node's TLS reads its socket
  SSL_CTX_set_read_ahead(server_ctx, 1);
  SSL_CTX_set_read_ahead(upstream_ctx, 1);
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in at = loopback(0);
  socklen_t len = sizeof at;
  if (bind(listener, (struct sockaddr *)&at, sizeof at) != 0 || listen(listener, 128) != 0 || getsockname(listener, (struct sockaddr *)&at, &len) != 0) {
    perror("tls-relay-floor");
    return 1;
  }
  printf("%d\n", ntohs(at.sin_port));
  fflush(stdout);
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) continue;
    pthread_t thread;
    if (pthread_create(&thread, NULL, relay, (void *)(long)fd) == 0) pthread_detach(thread);
    else close(fd);
  }
}
