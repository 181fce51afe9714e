/*
 * The table of calls packetdrill's shared-object mode expects from a stack
 * (--so_filename). packetdrill reads the table by position, so the members
 * below follow the order it documents: the opaque pointer, then one
 * function per call, each taking that pointer first and then the Linux
 * system call's own arguments, returning what the call returns and setting
 * errno on failure. Declared here from the interface's description so that
 * tide does not include GPL code.
 */
#ifndef TIDE_PD_INTERFACE_H
#define TIDE_PD_INTERFACE_H

#define _GNU_SOURCE 1
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

struct packetdrill_interface {
	void *userdata;
	void (*free)(void *ud);
	int (*socket)(void *ud, int domain, int type, int protocol);
	int (*bind)(void *ud, int fd, const struct sockaddr *addr, socklen_t len);
	int (*listen)(void *ud, int fd, int backlog);
	int (*accept)(void *ud, int fd, struct sockaddr *addr, socklen_t *len);
	int (*connect)(void *ud, int fd, const struct sockaddr *addr, socklen_t len);
	ssize_t (*read)(void *ud, int fd, void *buf, size_t n);
	ssize_t (*readv)(void *ud, int fd, const struct iovec *iov, int iovcnt);
	ssize_t (*recv)(void *ud, int fd, void *buf, size_t n, int flags);
	ssize_t (*recvfrom)(void *ud, int fd, void *buf, size_t n, int flags,
			    struct sockaddr *from, socklen_t *fromlen);
	ssize_t (*recvmsg)(void *ud, int fd, struct msghdr *msg, int flags);
	ssize_t (*write)(void *ud, int fd, const void *buf, size_t n);
	ssize_t (*writev)(void *ud, int fd, const struct iovec *iov, int iovcnt);
	ssize_t (*send)(void *ud, int fd, const void *buf, size_t n, int flags);
	ssize_t (*sendto)(void *ud, int fd, const void *buf, size_t n, int flags,
			  const struct sockaddr *to, socklen_t tolen);
	ssize_t (*sendmsg)(void *ud, int fd, const struct msghdr *msg, int flags);
	int (*fcntl)(void *ud, int fd, int cmd, ...);
	int (*ioctl)(void *ud, int fd, unsigned long request, ...);
	int (*close)(void *ud, int fd);
	int (*shutdown)(void *ud, int fd, int how);
	int (*getsockopt)(void *ud, int fd, int level, int name, void *val, socklen_t *len);
	int (*setsockopt)(void *ud, int fd, int level, int name, const void *val,
			  socklen_t len);
	int (*poll)(void *ud, struct pollfd *fds, nfds_t nfds, int timeout_ms);
	/* One packet into the stack (IP header first): 0, or -1. */
	int (*netdev_send)(void *ud, const void *buf, size_t n);
	/* The next packet the stack sent: *n in = room, out = size (0: none),
	 * *time_us = when it left. 0, or -1. */
	int (*netdev_receive)(void *ud, void *buf, size_t *n, long long *time_us);
	int (*usleep)(void *ud, useconds_t us);
	int (*gettimeofday)(void *ud, struct timeval *tv, struct timezone *tz);
	int (*epoll_create)(void *ud, int size);
	int (*epoll_ctl)(void *ud, int epfd, int op, int fd, struct epoll_event *ev);
	int (*epoll_wait)(void *ud, int epfd, struct epoll_event *evs, int maxevents,
			  int timeout_ms);
	int (*pipe)(void *ud, int fds[2]);
	int (*splice)(void *ud, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out,
		      size_t len, unsigned int flags);
};

void packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc);

#endif
