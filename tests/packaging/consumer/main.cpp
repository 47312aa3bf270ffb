// Logs in, downloads a route to a file with progress, and checks what the
// progress contract promises: the first call (0, total), the last (total,
// total), never decreasing. Exits 0 when all holds.
//
//   kitsu_consumer <host> <email> <password> <route> <target>
#include <kitsu.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

struct Calls {
    std::vector<std::pair<uint64_t, uint64_t>> seen;
};

int on_progress(uint64_t done, uint64_t total, void *user_data) {
    static_cast<Calls *>(user_data)->seen.emplace_back(done, total);
    return KITSU_PROGRESS_CONTINUE;
}

int fail(const char *what, kitsu_result rc) {
    char message[KITSU_ERROR_SIZE];
    kitsu_last_error_message(message, sizeof message, nullptr);
    std::fprintf(stderr, "%s: %s: %s\n", what, kitsu_result_str(rc), message);
    return 1;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s <host> <email> <password> <route> <target>\n", argv[0]);
        return 2;
    }
    if (kitsu_abi_version() != KITSU_ABI_VERSION) {
        std::fprintf(stderr, "ABI %u, header %u\n", kitsu_abi_version(), KITSU_ABI_VERSION);
        return 1;
    }
    kitsu_client *client = nullptr;
    kitsu_result rc = kitsu_client_new(argv[1], &client);
    if (rc != KITSU_RESULT_OK) return fail("client", rc);
    rc = kitsu_client_log_in(client, argv[2], argv[3], nullptr);
    if (rc != KITSU_RESULT_OK) return fail("log in", rc);
    Calls calls;
    rc = kitsu_client_download(client, argv[4], argv[5], nullptr, on_progress, &calls);
    if (rc != KITSU_RESULT_OK) return fail("download", rc);
    kitsu_client_free(client);
    if (calls.seen.size() < 2) return fail("progress calls", KITSU_RESULT_OK);
    uint64_t total = calls.seen.front().second;
    bool ok = calls.seen.front().first == 0 && calls.seen.back().first == total &&
              calls.seen.back().second == total;
    for (size_t i = 1; i < calls.seen.size(); ++i) ok = ok && calls.seen[i].first >= calls.seen[i - 1].first;
    std::printf("%s %llu bytes, %zu progress calls, kitsu %s\n", ok ? "ok" : "BAD",
                static_cast<unsigned long long>(total), calls.seen.size(), kitsu_version());
    return ok ? 0 : 1;
}
