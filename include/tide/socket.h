/*
 * The BSD-like socket API of a tide stack.
 *
 * Calls mirror Linux's system calls of the same name, take the stack first,
 * use the system's constants (AF_INET, SOCK_STREAM, SOL_SOCKET, SO_ERROR,
 * IPPROTO_TCP, TCP_NODELAY, MSG_PEEK, EPOLLIN, ...) and return what Linux
 * returns: a value >= 0, or -1 with errno set to the value Linux gives.
 *
 * The stack never waits: it has no clock of its own. A call that would block
 * fails with EAGAIN (connect: EINPROGRESS) whether or not the socket is
 * non-blocking; the code that owns the clock (the simulator, a run loop)
 * waits for readiness (tide_poll / tide_epoll_wait) and calls again.
 * Descriptors are small integers per stack, starting at 3, lowest free
 * first, shared by sockets and epoll instances, as in a Linux process.
 * tide never raises signals: a write after the peer's RST fails with EPIPE
 * as if MSG_NOSIGNAL were always set.
 */
#ifndef TIDE_SOCKET_H
#define TIDE_SOCKET_H

#include <tide/tide.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>

#ifdef __cplusplus
extern "C" {
#endif

/* domain AF_INET, type SOCK_STREAM (optionally | SOCK_NONBLOCK), protocol 0
 * or IPPROTO_TCP. */
int tide_socket(tide_stack *st, int domain, int type, int protocol);
int tide_bind(tide_stack *st, int fd, const struct sockaddr *addr, socklen_t len);
int tide_listen(tide_stack *st, int fd, int backlog);
/* flags: 0 or SOCK_NONBLOCK (accept4). */
int tide_accept(tide_stack *st, int fd, struct sockaddr *addr, socklen_t *len, int flags);
int tide_connect(tide_stack *st, int fd, const struct sockaddr *addr, socklen_t len);
/* flags: MSG_DONTWAIT, MSG_NOSIGNAL (implied), MSG_MORE. */
ssize_t tide_send(tide_stack *st, int fd, const void *buf, size_t len, int flags);
/* flags: MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL (returns what is there). */
ssize_t tide_recv(tide_stack *st, int fd, void *buf, size_t len, int flags);
int tide_shutdown(tide_stack *st, int fd, int how);
/*
 * close(). Like Linux's: unread data makes it send RST (TCPAbortOnClose);
 * SO_LINGER {1, 0} makes it abort the connection with RST (none in
 * SYN_SENT, nor in CLOSING/LAST_ACK once everything was sent), skipping
 * TIME_WAIT (Linux counts TCPAbortOnData there); otherwise the FIN
 * handshake goes on without the application (an orphan; beyond
 * net.ipv4.tcp_max_orphans orphans it is reset, TCPAbortOnMemory).
 *
 * SO_LINGER {1, N > 0}: Linux's close() blocks until the connection leaves
 * FIN_WAIT_1, CLOSING and LAST_ACK (its FIN is acknowledged, or it ended)
 * or N seconds pass, and then returns 0 either way: on timeout the
 * connection simply goes on as an orphan (no RST). tide never blocks:
 * tide_close returns 0 at once and the segments are exactly Linux's. A
 * driver that emulates a blocking close waits, after tide_close, for the
 * connection's on_state callback (struct tide_config) to report a state
 * other than FIN_WAIT_1, CLOSING and LAST_ACK, or for N seconds of its
 * clock, whichever comes first. A dying process never lingers (Linux's
 * PF_EXITING), so tide_release_owner does not either. A negative l_linger
 * means for ever, as in Linux; getsockopt reports it as set (Linux reports
 * LONG_MAX / HZ cut to an int, which depends on its build).
 */
int tide_close(tide_stack *st, int fd);
int tide_getsockopt(tide_stack *st, int fd, int level, int name, void *val, socklen_t *len);
int tide_setsockopt(tide_stack *st, int fd, int level, int name, const void *val, socklen_t len);
int tide_getsockname(tide_stack *st, int fd, struct sockaddr *addr, socklen_t *len);
int tide_getpeername(tide_stack *st, int fd, struct sockaddr *addr, socklen_t *len);
/* F_GETFL / F_SETFL with O_NONBLOCK. */
int tide_fcntl(tide_stack *st, int fd, int cmd, int arg);

/* Readiness now (the stack never waits): fills revents, returns how many
 * entries have a non-zero revents. */
int tide_poll(tide_stack *st, struct pollfd *fds, nfds_t nfds);

/* epoll: EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLPRI; EPOLLERR and EPOLLHUP are
 * always reported; EPOLLET (edge-triggered) and EPOLLONESHOT. The cost of
 * tide_epoll_wait is proportional to the ready sockets, not the watched. */
int tide_epoll_create(tide_stack *st);
int tide_epoll_ctl(tide_stack *st, int epfd, int op, int fd, struct epoll_event *ev);
int tide_epoll_wait(tide_stack *st, int epfd, struct epoll_event *events, int maxevents);

/* The state of the connection behind fd (enum tide_tcp_state), or -1. */
int tide_sock_state(tide_stack *st, int fd);

/*
 * Owners (LC-C12): a tag per descriptor standing for the process that
 * holds it, so that a host simulation can let a process die.
 * Every socket and epoll descriptor starts with owner 0; accept() gives the
 * new socket its listener's owner. Returns 0, or -1 with EBADF.
 */
int tide_sock_set_owner(tide_stack *st, int fd, uint32_t owner);
/*
 * The process `owner` exits: every descriptor it owns is closed, each
 * exactly as tide_close would (FIN, or RST when unread data is pending; a
 * listener resets the connections it never accepted; SO_LINGER never
 * waits), from the highest descriptor down, the order in which Linux 6.x
 * releases a dead process's sockets (its task_work runs last-in first-
 * out). The connections then finish their close without any application,
 * as orphans. Returns how many descriptors were closed.
 */
int tide_release_owner(tide_stack *st, uint32_t owner);

#ifdef __cplusplus
}
#endif
#endif
