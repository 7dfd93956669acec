#ifndef HOLYSHEEP_CCURL_SHIM_H
#define HOLYSHEEP_CCURL_SHIM_H
#include <curl/curl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

// Swift cannot call C variadic functions: these typed wrappers stand in for curl_easy_setopt,
// curl_easy_getinfo and curl_multi_setopt, one per argument type.

static inline CURLcode hsl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode hsl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode hsl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode hsl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode hsl_easy_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
/// For CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION (same signature).
static inline CURLcode hsl_easy_setopt_write_callback(CURL *handle, CURLoption option, curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode hsl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode hsl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode hsl_easy_getinfo_offset(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLMcode hsl_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}

/// For CURLMOPT_SOCKETFUNCTION.
static inline CURLMcode hsl_multi_setopt_socket_callback(CURLM *handle, curl_socket_callback value) {
    return curl_multi_setopt(handle, CURLMOPT_SOCKETFUNCTION, value);
}
/// For CURLMOPT_TIMERFUNCTION.
static inline CURLMcode hsl_multi_setopt_timer_callback(CURLM *handle, curl_multi_timer_callback value) {
    return curl_multi_setopt(handle, CURLMOPT_TIMERFUNCTION, value);
}
/// For CURLMOPT_SOCKETDATA and CURLMOPT_TIMERDATA.
static inline CURLMcode hsl_multi_setopt_pointer(CURLM *handle, CURLMoption option, void *value) {
    return curl_multi_setopt(handle, option, value);
}

/// epoll_ctl for one socket: `op` is EPOLL_CTL_ADD, _MOD or _DEL; the fd is the event's data.
/// (struct epoll_event is packed on x86_64, which Swift does not import faithfully.)
static inline int hsl_epoll_ctl(int epfd, int op, int fd, uint32_t events) {
    struct epoll_event event;
    event.events = events;
    event.data.fd = fd;
    return epoll_ctl(epfd, op, fd, &event);
}
/// epoll_wait into two plain arrays (fds and their event masks); returns the count, or -1 with errno.
static inline int hsl_epoll_wait(int epfd, int *fds, uint32_t *events, int capacity, int timeout_ms) {
    struct epoll_event ready[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epfd, ready, capacity, timeout_ms);
    for (int i = 0; i < count; i++) {
        fds[i] = ready[i].data.fd;
        events[i] = ready[i].events;
    }
    return count;
}

static pthread_once_t hsl_curl_global_once = PTHREAD_ONCE_INIT;
static CURLcode hsl_curl_global_result = CURLE_OK;
static void hsl_curl_global_init_body(void) { hsl_curl_global_result = curl_global_init(CURL_GLOBAL_ALL); }
/// curl_global_init exactly once per process, thread-safely (it is not thread-safe itself before 7.84).
static inline CURLcode hsl_curl_global_init_once(void) {
    pthread_once(&hsl_curl_global_once, hsl_curl_global_init_body);
    return hsl_curl_global_result;
}
#endif
