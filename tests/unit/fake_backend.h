/*
 * fake_backend.h: a scripted MariaDB server and a scripted client for
 * the command cycle's tests (test_cycle_*.c), as HAProxy's reg-tests
 * script a server. A fake backend listens on loopback; every connection
 * halyard opens to it is greeted, its login is answered OK, and each
 * command it gets is logged, then answered by the first rule whose text
 * the COM_QUERY contains (else an OK; a COM_STMT_PREPARE, a prepare OK of
 * no columns and no parameters). Its answers' status flags say whether a
 * transaction is open on the connection (BEGIN or START TRANSACTION up
 * to COMMIT or ROLLBACK), and a DROP DATABASE's that a database was
 * dropped (SERVER_STATUS_DB_DROPPED), as the server's do. The client is
 * one end of a socket pair given to session_create(); the real session
 * code runs between them on the test's libev loop, which fb_pump()
 * drives. No server runs.
 */
#ifndef HALYARD_TESTS_FAKE_BACKEND_H
#define HALYARD_TESTS_FAKE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#define FB_MAX_RULES 16
#define FB_MAX_LOG   64
#define FB_MAX_TRACE 2048 /* a test's shared trace */
#define FB_MAX_CONNS 8
#define FB_BUF       65536

/* An answer a rule gives. */
enum fb_answer {
    FB_OK,     /* an OK */
    FB_ERR,    /* an ERR: err_code, msg */
    FB_ROW,    /* a result set of one column and one row: value */
    FB_CLOSE,  /* the connection closed, no answer (a backend lost) */
    FB_HOLD,   /* no answer until fb_release(), then an OK */
    FB_INFILE, /* a LOCAL INFILE request (0xFB): the file's packets, logged "F:<bytes>", then
                * an OK at its empty packet, logged "F:end" */
};

struct fb_rule {
    uint8_t cmd;          /* the command it answers (fb_rule: COM_QUERY) */
    const char *contains; /* in the command's payload (after its byte) */
    enum fb_answer answer;
    uint16_t err_code;
    const char *msg; /* FB_ERR's message; FB_ROW's value */
    int times;       /* answers this many, then is passed over; 0 = always */
    int used;
};

struct fb_conn {
    int fd;
    ev_io rio;
    struct fake_backend *fb;
    uint8_t in[FB_BUF];
    size_t in_len;
    bool logged_in;
    int serial;    /* 1 for the first connection it accepted, and on */
    bool in_trans; /* a BEGIN or START TRANSACTION ran, no COMMIT or ROLLBACK since */
    bool infile;   /* FB_INFILE asked for the file: packets are its bytes */
};

/* One backend halyard connects to. */
struct fake_backend {
    struct ev_loop *loop;
    const char *name;
    int lfd;
    uint16_t port;
    ev_io accept_io;
    struct fb_conn *conns[FB_MAX_CONNS];
    size_t n_conns;
    int n_accepted;                     /* connections accepted in all */
    struct fb_conn *held[FB_MAX_CONNS]; /* FB_HOLD's, waiting for fb_release */
    size_t n_held;
    struct fb_rule rules[FB_MAX_RULES];
    size_t n_rules;
    /* The commands it got, in order: "Q:<text>" for COM_QUERY,
     * "P:<text>" for COM_STMT_PREPARE, "X:" for COM_STMT_EXECUTE, else
     * "C:<byte>"; into the shared trace too when one is given. */
    char log[FB_MAX_LOG][160];
    int log_conn[FB_MAX_LOG]; /* the serial of the connection it came on */
    size_t n_log;
    char (*trace)[160]; /* fb_trace's, shared by the backends of a test */
    size_t *n_trace;
};

/* Listen on 127.0.0.1, on a port the kernel picks (fb->port), so that
 * test programs run side by side; fb_start accepts on it in `loop`. */
void fb_listen(struct fake_backend *fb, const char *name);
void fb_start(struct fake_backend *fb, struct ev_loop *loop);
/* The tests' configurations name the primary's and the replica's ports as
 * these: a copy of `conf` (malloc'd) with the ports the two listen on. */
#define FB_PORT_PRIMARY "21000"
#define FB_PORT_REPLICA "21001"
char *fb_conf(const char *conf, const struct fake_backend *primary,
              const struct fake_backend *replica);
void fb_stop(struct fake_backend *fb);
void fb_rule(struct fake_backend *fb, const char *contains, enum fb_answer a, uint16_t code,
             const char *msg, int times);
/* A rule for another command than COM_QUERY (COM_STMT_PREPARE: its text;
 * "" matches any payload). */
void fb_rule_cmd(struct fake_backend *fb, uint8_t cmd, const char *contains, enum fb_answer a,
                 uint16_t code, const char *msg, int times);
/* Answer the commands FB_HOLD held: an OK each. */
void fb_release(struct fake_backend *fb);
/* Close every connection halyard has to it (a backend lost). */
void fb_drop_all(struct fake_backend *fb);
/* Whether its log has an entry containing `text`; its index, else -1. */
int fb_logged(const struct fake_backend *fb, const char *text);

/* The scripted client: one end of a socket pair. */
struct fb_client {
    int fd;
    uint8_t in[FB_BUF];
    size_t in_len;
    uint32_t caps;
    uint32_t ext_caps; /* MariaDB's capabilities it asks for at login (set before it) */
};

/* Run the loop (without blocking) until `done(arg)` or `ms` pass. */
bool fb_pump(struct ev_loop *loop, bool (*done)(void *arg), void *arg, int ms);
/* Send a packet (payload `p`, `n` bytes) with sequence number `seq`. */
void fb_client_send(struct fb_client *c, const void *p, size_t n, uint8_t seq);
/* The next packet's payload into out (at most cap); its length, or -1
 * when none came within ms. */
int fb_client_recv(struct fb_client *c, struct ev_loop *loop, uint8_t *out, size_t cap, int ms);
/* Read the greeting, log in as `user` with no password; true on an OK. */
bool fb_client_login(struct fb_client *c, struct ev_loop *loop, const char *user);
/* A command and its whole answer: the first packet's byte (0x00 OK, 0xff
 * ERR, else a result set's column count) and, for an ERR, its code. */
int fb_client_query(struct fb_client *c, struct ev_loop *loop, const char *sql, uint16_t *err);
int fb_client_command(struct fb_client *c, struct ev_loop *loop, const void *p, size_t n,
                      uint16_t *err, uint8_t *first, size_t first_cap);

#endif
