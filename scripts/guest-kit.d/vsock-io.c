/*
 * vsock-io: a tiny AF_VSOCK test program for the Vireo guest kit (built static by scripts/guest-kit when gcc is there).
 *
 *   vsock-io listen PORT COUNT       listen on any CID, PORT; print "vsock-io: listening PORT"; serve COUNT connections
 *                                    at once (one child each): echo every byte back until EOF, then close; print
 *                                    "vsock-io: echoed N bytes" per connection; exit 0 when all are done
 *   vsock-io send CID PORT BYTES     connect to CID:PORT, send BYTES bytes of the pattern below while reading what
 *                                    comes back, shut down writing, read to EOF; print "vsock-io: send ok BYTES SECONDS"
 *                                    when the peer echoed exactly the pattern, else "vsock-io: send FAIL ..." (exit 1)
 *
 * The pattern: byte i is (i * 7 + (i >> 8) * 13) & 0xff (VsockIT computes the same).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static unsigned char pattern(unsigned long i) { return (unsigned char) ((i * 7 + (i >> 8) * 13) & 0xff); }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int echo(int fd) {
    char buf[65536];
    unsigned long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { printf("vsock-io: echo read failed: %s\n", strerror(errno)); return 1; }
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, n - off);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) { printf("vsock-io: echo write failed: %s\n", strerror(errno)); return 1; }
            off += w;
        }
        total += n;
    }
    printf("vsock-io: echoed %lu bytes\n", total);
    fflush(stdout);
    close(fd);
    return 0;
}

static int listen_cmd(unsigned port, int count) {
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0) { printf("vsock-io: socket: %s\n", strerror(errno)); return 1; }
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    if (bind(s, (struct sockaddr *) &a, sizeof a) < 0 || listen(s, count) < 0) {
        printf("vsock-io: bind/listen %u: %s\n", port, strerror(errno));
        return 1;
    }
    printf("vsock-io: listening %u\n", port);
    fflush(stdout);
    int failed = 0;
    for (int i = 0; i < count; i++) {
        int c = accept(s, NULL, NULL);
        if (c < 0) { printf("vsock-io: accept: %s\n", strerror(errno)); return 1; }
        pid_t pid = fork();
        if (pid == 0) { close(s); _exit(echo(c)); }
        close(c);
    }
    int status;
    while (wait(&status) > 0) if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    close(s);
    return failed;
}

static int send_cmd(unsigned cid, unsigned port, unsigned long bytes) {
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0) { printf("vsock-io: socket: %s\n", strerror(errno)); return 1; }
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
    double t0 = now();
    if (connect(s, (struct sockaddr *) &a, sizeof a) < 0) {
        printf("vsock-io: send FAIL connect %u:%u: %s\n", cid, port, strerror(errno));
        return 1;
    }
    static char out[65536], in[65536];
    unsigned long sent = 0, got = 0, bad = 0;
    int wr_done = 0;
    while (1) {
        struct pollfd p = {.fd = s, .events = POLLIN | (wr_done ? 0 : POLLOUT)};
        if (poll(&p, 1, 60000) <= 0) { printf("vsock-io: send FAIL stalled at sent %lu received %lu\n", sent, got); return 1; }
        if (!wr_done && (p.revents & POLLOUT)) {
            size_t n = bytes - sent < sizeof out ? bytes - sent : sizeof out;
            for (size_t i = 0; i < n; i++) out[i] = pattern(sent + i);
            ssize_t w = write(s, out, n);
            if (w < 0 && errno != EAGAIN && errno != EINTR) { printf("vsock-io: send FAIL write: %s\n", strerror(errno)); return 1; }
            if (w > 0) sent += w;
            if (sent == bytes) { shutdown(s, SHUT_WR); wr_done = 1; }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(s, in, sizeof in);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n < 0) { printf("vsock-io: send FAIL read: %s\n", strerror(errno)); return 1; }
            if (n == 0) break;
            for (ssize_t i = 0; i < n; i++) if ((unsigned char) in[i] != pattern(got + i)) bad++;
            got += n;
        }
    }
    double t1 = now();
    close(s);
    if (got != bytes || bad != 0 || sent != bytes) {
        printf("vsock-io: send FAIL sent %lu received %lu wrong %lu\n", sent, got, bad);
        return 1;
    }
    printf("vsock-io: send ok %lu %.3f\n", bytes, t1 - t0);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "listen") == 0) return listen_cmd(strtoul(argv[2], NULL, 10), atoi(argv[3]));
    if (argc == 5 && strcmp(argv[1], "send") == 0)
        return send_cmd(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
    fprintf(stderr, "usage: vsock-io listen PORT COUNT | vsock-io send CID PORT BYTES\n");
    return 2;
}
