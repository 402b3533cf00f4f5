// zs::dist on two ranks on 127.0.0.1 (zscope-cli dist check, which checks every
// collective against known answers): the collectives, the launcher, and the
// failures that must be clear and quick: a rank killed (-9) or stopped, and
// the joining errors (exit 3) for a port in use, a wrong WORLD_SIZE, an
// unreachable MASTER_ADDR. Ports: free ones from the kernel, so that tests
// running at once do not collide.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "core/dist/launch.h"
#include "tests/core/dist_procs.h"
#include "tests/support/check.h"

using namespace zs;
using namespace zs::test;

namespace {
// Waits until a soaking `dist check --seconds` rank has said it is all-reducing.
bool soaking(const std::string& errFile, const std::string& line) {
  for (int i = 0; i < 600; ++i) {
    if (slurp(errFile).find(line) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Two ranks of `dist check` soaking (all-reducing for up to 120 s) with the given peer timeout, returned once
// rank 1 has finished its checks and is soaking.
std::pair<Proc, Proc> soakingPair(const std::string& cli, double peerTimeout) {
  const int port = dist::freePort();
  const std::vector<std::string> soak = {cli, "dist", "check", "--mb", "0", "--seconds", "120"};
  Proc r0 = spawn(soak, rankEnv(0, 2, port, peerTimeout));
  Proc r1 = spawn(soak, rankEnv(1, 2, port, peerTimeout));
  ZS_CHECK(soaking(r1.err, "rank 1: checks done"));
  return {r0, r1};
}
}  // namespace

ZS_TEST(collectivesOnTwoLocalRanks) {
  ZS_REQUIRE_CLI(cli);
  auto r = runProcess({cli, "dist", "check", "--nproc", "2", "--mb", "1", "--json"}, 120);
  ZS_CHECK_EQ(r.code, 0);
  auto j = nlohmann::json::parse(r.out);
  ZS_CHECK_EQ(j.at("world").get<int>(), 2);
  ZS_CHECK_EQ(j.at("backend").get<std::string>(), std::string("gloo"));
  for (const char* k : {"all_reduce", "min_max", "all_gather_bytes", "gather_bytes_to_root", "broadcast_bytes"}) {
    ZS_CONTEXT(k);
    ZS_CHECK(j.at(k).get<bool>());
  }
  ZS_CHECK_GT(j.at("all_reduce_mb_per_s").get<double>(), 0.0);
}

ZS_TEST(joiningErrorsExitThreeBeforeAnyWork) {
  ZS_REQUIRE_CLI(cli);
  const std::vector<std::string> check = {cli, "dist", "check", "--mb", "0"};
  // A port in use: something else listens on it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ZS_CHECK_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ZS_CHECK_EQ(::listen(fd, 4), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int busy = ntohs(a.sin_port);
  // All cases at once (each on its own port): the waits overlap.
  Proc inUse = spawn(check, rankEnv(0, 2, busy, 2));
  Proc alone = spawn(check, rankEnv(0, 2, dist::freePort(), 1.5));          // WORLD_SIZE 2, one rank
  Proc unreachable = spawn(check, rankEnv(1, 2, dist::freePort(), 1.5));    // nobody at MASTER_PORT
  const int port = dist::freePort();
  Proc w2 = spawn(check, rankEnv(0, 2, port, 5));                          // ranks disagree on WORLD_SIZE
  Proc w3 = spawn(check, rankEnv(1, 3, port, 5));
  Proc bad = spawn(check, rankEnv(2, 2, dist::freePort(), 2));              // RANK >= WORLD_SIZE
  for (Proc* p : {&inUse, &alone, &unreachable, &w2, &w3, &bad}) ZS_CHECK(waitProc(*p, 60));
  ::close(fd);
  struct Want {
    Proc* p;
    const char* says;
  };
  for (const Want& w : {Want{&inUse, "already in use"}, Want{&alone, "only 1 of WORLD_SIZE 2 ranks joined"},
                        Want{&unreachable, "cannot reach the rendezvous"}, Want{&w2, "WORLD_SIZE 3, rank 0 has 2"},
                        Want{&w3, "WORLD_SIZE"}, Want{&bad, "not below WORLD_SIZE"}}) {
    const std::string err = slurp(w.p->err);
    ZS_CONTEXT(err);
    ZS_CHECK_EQ(exitCode(*w.p), 3);
    ZS_CHECK(err.find(w.says) != std::string::npos);
    // One line, no c10d log noise or backtrace.
    ZS_CHECK_EQ(std::count(err.begin(), err.end(), '\n'), 1L);
  }
}

ZS_TEST(aKilledRankStopsTheOtherWithItsName) {
  ZS_REQUIRE_CLI(cli);
  auto [r0, r1] = soakingPair(cli, 30);
  killRankOneAndExpectItNamed(r0, r1);
}

ZS_TEST(aStoppedRankIsNamedAfterThePeerTimeout) {
  ZS_REQUIRE_CLI(cli);
  // SIGSTOP: the rank's sockets stay open, only its heartbeat stops.
  auto [r0, r1] = soakingPair(cli, 3);
  ::kill(r1.pid, SIGSTOP);
  const auto stopped = std::chrono::steady_clock::now();
  ZS_CHECK(waitProc(r0, 60));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  ::kill(r1.pid, SIGKILL);
  ::kill(r1.pid, SIGCONT);
  waitProc(r1, 10);
  const std::string err = slurp(r0.err);
  ZS_CONTEXT(err);
  ZS_CHECK_EQ(exitCode(r0), 1);
  ZS_CHECK(err.find("rank 1 stopped responding") != std::string::npos);
  ZS_CHECK_LT(took, 20.0);
}

ZS_TEST(theLauncherReportsWhichRankDied) {
  ZS_REQUIRE_CLI(cli);
  Proc launcher = spawn({cli, "dist", "check", "--nproc", "2", "--mb", "0", "--seconds", "120"}, {"ZSCOPE_DIST_TIMEOUT=30"});
  pid_t victim = -1;
  for (int i = 0; i < 200 && victim < 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (pid_t c : childrenOf(launcher.pid))
      if (rankOfProcess(c) == 1) victim = c;
  }
  ZS_CHECK_GT(victim, 0);
  ZS_CHECK(soaking(launcher.err, "[rank 1] rank 1: checks done"));
  ::kill(victim, SIGKILL);
  ZS_CHECK(waitProc(launcher, 60));
  const std::string err = slurp(launcher.err);
  ZS_CONTEXT(err);
  ZS_CHECK_EQ(exitCode(launcher), 1);
  ZS_CHECK(err.find("zscope-cli: rank 1 of 2 was killed by signal 9") != std::string::npos);
  ZS_CHECK(err.find("[rank 0] ") != std::string::npos);  // the survivor's own line, prefixed
}
