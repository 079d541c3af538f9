/// \file
/// Whole files: written so that a crash or an error never leaves half of one, and
/// read in one piece.
#pragma once

#include <string>
#include <string_view>

namespace minigrad {

/// Replaces the file at `path` with `bytes`, atomically and durably.
///
/// Writes "<path>.tmp.<pid>" in the same folder, fsyncs it, renames it over
/// `path` and fsyncs the folder. Whatever happens — an error, a full disk, the
/// process killed, a power loss — `path` afterwards holds either its old content
/// or all of `bytes`, never a part. On an error the temporary file is removed and
/// std::runtime_error names `path`, the step that failed and the system's reason
/// (for example "No such file or directory": the folder is not created). A
/// process killed mid-write leaves its temporary file behind; nothing reads it,
/// and the next write by a process with the same pid replaces it. Writes from
/// threads of one process take turns, so they never share a temporary file.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// The bytes of the regular file at `path`, all of them.
///
/// Throws std::runtime_error naming `path` and the reason: it cannot be opened
/// (with the system's reason, "No such file or directory"), it is not a regular
/// file (a folder, a device), or a read failed (with the byte it failed at). A file
/// that shrinks while it is read yields the bytes it still had.
std::string read_whole_file(const std::string& path);

}  // namespace minigrad
