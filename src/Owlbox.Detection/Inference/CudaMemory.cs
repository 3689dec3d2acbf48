using System.Runtime.InteropServices;

namespace Owlbox.Detection.Inference;

/// <summary>The CUDA runtime's free-memory query, from the libcudart the CUDA execution provider loads (ONNX Runtime's
/// C# API has none). Null where no CUDA runtime loads.</summary>
internal static class CudaMemory
{
    private delegate int SetDevice(int device);
    private delegate int MemGetInfo(out nuint free, out nuint total);

    private static readonly string[] s_libraries = ["libcudart.so.13", "libcudart.so.12", "libcudart.so", "cudart64_13.dll", "cudart64_12.dll"];

    public static long? FreeBytes(int device)
    {
        foreach (var name in s_libraries)
        {
            if (NativeLibrary.TryLoad(name, out var library)
                && NativeLibrary.TryGetExport(library, "cudaSetDevice", out var setDevice)
                && NativeLibrary.TryGetExport(library, "cudaMemGetInfo", out var memGetInfo))
            {
                if (Marshal.GetDelegateForFunctionPointer<SetDevice>(setDevice)(device) != 0
                    || Marshal.GetDelegateForFunctionPointer<MemGetInfo>(memGetInfo)(out var free, out _) != 0)
                {
                    return null;
                }
                return (long)free;
            }
        }
        return null;
    }
}
