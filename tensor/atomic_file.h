/// \file
/// Writing a file so that a crash or an error never leaves half of it.
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

}  // namespace minigrad
