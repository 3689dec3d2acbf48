using System.Runtime.InteropServices;

namespace Owlbox.Datasets;

/// <summary>What is at a path, the path itself and not where a symbolic link leads (<c>lstat</c>): an export replaces
/// only a regular file, never a link, a device, a named pipe or a socket (renaming a temporary file over <c>/dev/full</c>
/// replaces the device node).</summary>
public enum FileKind
{
    Missing,
    Regular,
    Directory,
    SymbolicLink,
    Other,
}

/// <summary>Reads a path's <see cref="FileKind"/>. On Linux with <c>statx(AT_SYMLINK_NOFOLLOW)</c>, whose result layout is
/// the same on every architecture (unlike <c>struct stat</c>); elsewhere from .NET's attributes, which tell links and
/// folders apart but not devices or pipes.</summary>
public static partial class FileKinds
{
    public static FileKind Of(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            var buffer = new byte[256]; // struct statx is 256 bytes; stx_mode is the u16 at offset 28
            if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno is ENoEnt or ENotDir ? FileKind.Missing
                    : throw new IOException($"cannot tell what {path} is (error {errno})");
            }
            return (BitConverter.ToUInt16(buffer, 28) & SIfMt) switch
            {
                SIfReg => FileKind.Regular,
                SIfDir => FileKind.Directory,
                SIfLnk => FileKind.SymbolicLink,
                _ => FileKind.Other,
            };
        }
        var info = new FileInfo(path);
        return info.LinkTarget is not null ? FileKind.SymbolicLink
            : Directory.Exists(path) ? FileKind.Directory
            : info.Exists ? FileKind.Regular
            : FileKind.Missing;
    }

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int SIfMt = 0xF000;
    private const int SIfReg = 0x8000;
    private const int SIfDir = 0x4000;
    private const int SIfLnk = 0xA000;
    private const int ENoEnt = 2;
    private const int ENotDir = 20;

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, byte[] buffer);
}
