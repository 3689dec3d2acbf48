using Google.Protobuf;
using Onnx;
using Owlbox.Models;

namespace Owlbox.ModelPreparation;

/// <summary>
/// An ONNX model read without its weights: nodes, inputs, outputs and value infos in full, initializers with their
/// name, type and shape, and their values only when small (shape constants). Reading a published export this way
/// costs kilobytes, not the hundreds of megabytes parsing it whole would hold, so a labeling run can say whether its
/// single graph would split. The protobuf wire format is walked to skip the large fields; every message kept is
/// parsed by onnx.proto's generated classes.
/// </summary>
public static class GraphSkeleton
{
    private const int ModelGraph = 7;
    private const int GraphInitializer = 5;
    private const int SmallTensorBytes = 4096;

    // TensorProto's value fields: float_data, int32_data, string_data, int64_data, raw_data, double_data, uint64_data
    private static readonly HashSet<int> s_tensorValues = [4, 5, 6, 7, 9, 10, 11];

    public static ModelProto Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var rest = new MemoryStream();
        GraphProto? graph = null;
        while (stream.Position < stream.Length)
        {
            var start = stream.Position;
            var (field, wire) = Tag(stream);
            if (field == ModelGraph && wire == 2)
            {
                var length = (long)Varint(stream);
                graph = ReadGraph(stream, stream.Position + length);
                continue;
            }
            Skip(stream, wire);
            Copy(stream, start, rest);
        }
        var model = ModelProto.Parser.ParseFrom(rest.ToArray());
        model.Graph = graph ?? throw new ModelException("not an ONNX model: the model has no graph");
        return model;
    }

    private static GraphProto ReadGraph(FileStream stream, long end)
    {
        var rest = new MemoryStream();
        var initializers = new List<TensorProto>();
        while (stream.Position < end)
        {
            var start = stream.Position;
            var (field, wire) = Tag(stream);
            if (field == GraphInitializer && wire == 2)
            {
                var length = (long)Varint(stream);
                initializers.Add(length <= SmallTensorBytes ? TensorProto.Parser.ParseFrom(Bytes(stream, length)) : ReadTensorHeader(stream, stream.Position + length));
                continue;
            }
            Skip(stream, wire);
            Copy(stream, start, rest);
        }
        var graph = GraphProto.Parser.ParseFrom(rest.ToArray());
        graph.Initializer.AddRange(initializers);
        return graph;
    }

    /// <summary>A large tensor's name, type and shape; its values skipped.</summary>
    private static TensorProto ReadTensorHeader(FileStream stream, long end)
    {
        var kept = new MemoryStream();
        while (stream.Position < end)
        {
            var start = stream.Position;
            var (field, wire) = Tag(stream);
            Skip(stream, wire);
            if (!s_tensorValues.Contains(field))
            {
                Copy(stream, start, kept);
            }
        }
        return TensorProto.Parser.ParseFrom(kept.ToArray());
    }

    private static (int Field, int Wire) Tag(Stream stream)
    {
        var tag = Varint(stream);
        return ((int)(tag >> 3), (int)(tag & 7));
    }

    private static ulong Varint(Stream stream)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = stream.ReadByte();
            if (b < 0)
            {
                throw new ModelException("not an ONNX model: the file ends inside a field");
            }
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw new ModelException("not an ONNX model: a malformed varint");
    }

    private static void Skip(Stream stream, int wire)
    {
        switch (wire)
        {
            case 0:
                Varint(stream);
                break;
            case 1:
                stream.Seek(8, SeekOrigin.Current);
                break;
            case 2:
                stream.Seek((long)Varint(stream), SeekOrigin.Current);
                break;
            case 5:
                stream.Seek(4, SeekOrigin.Current);
                break;
            default:
                throw new ModelException($"not an ONNX model: wire type {wire} is not used by onnx.proto");
        }
        if (stream.Position > stream.Length)
        {
            throw new ModelException("not an ONNX model: the file ends inside a field");
        }
    }

    private static byte[] Bytes(Stream stream, long length)
    {
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Appends the field just read (from <paramref name="start"/> to the stream's position) to <paramref name="to"/>.</summary>
    private static void Copy(FileStream stream, long start, MemoryStream to)
    {
        var end = stream.Position;
        stream.Position = start;
        var bytes = Bytes(stream, end - start);
        to.Write(bytes);
    }
}
