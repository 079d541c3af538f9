#include "minigrad/tensor/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace minigrad {

namespace {

std::string errno_text(int err) { return std::system_category().message(err); }

std::string parent_directory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

// tmp → fsync → rename → fsync(dir). rename() replaces atomically; the first
// fsync makes sure the renamed file has its data, the second that the rename
// itself survives a power loss. (write(2) on a descriptor has no user-space
// buffer, so there is nothing to flush.)
void write_file_atomically(const std::string& path, std::string_view bytes) {
  // The pid keeps two processes apart; the mutex, two threads of this one.
  static std::mutex write_mutex;
  const std::lock_guard<std::mutex> lock(write_mutex);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    throw std::runtime_error(path + ": cannot create " + tmp + ": " + errno_text(err));
  }
  const auto fail_io = [&](const std::string& step) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw std::runtime_error(path + ": " + step + ": " + errno_text(err));
  };
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_io("write to " + tmp + " failed");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail_io("fsync " + tmp);
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) fail_io("close " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail_io("rename " + tmp + " to " + path);

  // The new content is in place; only its durability across a power loss is
  // still open, and the error says so.
  const std::string dir = parent_directory(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    const int err = errno;
    throw std::runtime_error(path + ": written, but cannot open folder " + dir +
                             " to fsync it: " + errno_text(err));
  }
  if (::fsync(dfd) != 0) {
    const int err = errno;
    ::close(dfd);
    throw std::runtime_error(path + ": written, but fsync of folder " + dir +
                             " failed: " + errno_text(err));
  }
  ::close(dfd);
}

std::string read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw std::runtime_error(path + ": cannot open: " + errno_text(err));
  }
  const auto fail_io = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(path + ": " + what + ": " + errno_text(err));
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_io("cannot stat");
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(path + ": not a regular file");
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_io("read failed at byte " + std::to_string(done));
    }
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  ::close(fd);
  return bytes;
}

}  // namespace minigrad
