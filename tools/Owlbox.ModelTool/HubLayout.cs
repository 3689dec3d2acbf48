using System.Text.Json;
using System.Text.Json.Nodes;

namespace Owlbox.ModelTool;

/// <summary>Writes a model directory exactly as a hub download lays it out (Xenova/owlvit-*, Xenova/owlv2-*):
/// config.json, preprocessor_config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
/// vocab.json, merges.txt, onnx/model.onnx.</summary>
public static class HubLayout
{
    public static readonly float[] ClipMean = [0.48145466f, 0.4578275f, 0.40821073f];
    public static readonly float[] ClipStd = [0.26862954f, 0.26130258f, 0.27577711f];

    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    public static void Write(string directory, string modelType, string modelId, int imageSize, int patchSize, TestVocabulary vocabulary, byte[] onnx, int hidden, int projection)
    {
        Directory.CreateDirectory(Path.Combine(directory, "onnx"));
        var isV2 = modelType == "owlv2";
        var arch = isV2 ? "Owlv2ForObjectDetection" : "OwlViTForObjectDetection";
        WriteJson(directory, "config.json", new JsonObject
        {
            ["_name_or_path"] = modelId,
            ["architectures"] = new JsonArray(arch),
            ["model_type"] = modelType,
            ["initializer_factor"] = 1.0,
            ["logit_scale_init_value"] = 2.6592,
            ["projection_dim"] = projection,
            ["return_dict"] = true,
            ["torch_dtype"] = "float32",
            ["text_config"] = new JsonObject
            {
                ["model_type"] = isV2 ? "owlv2_text_model" : "owlvit_text_model",
                ["hidden_size"] = hidden,
                ["max_position_embeddings"] = 16,
                ["vocab_size"] = vocabulary.Vocab.Count,
                ["bos_token_id"] = vocabulary.Tokenizer.StartId,
                ["eos_token_id"] = vocabulary.Tokenizer.EndId,
                ["pad_token_id"] = 0,
            },
            ["vision_config"] = new JsonObject
            {
                ["model_type"] = isV2 ? "owlv2_vision_model" : "owlvit_vision_model",
                ["hidden_size"] = hidden,
                ["image_size"] = imageSize,
                ["patch_size"] = patchSize,
            },
        });
        var pre = new JsonObject
        {
            ["do_normalize"] = true,
            ["do_rescale"] = true,
            ["do_resize"] = true,
            ["image_mean"] = new JsonArray(ClipMean.Select(v => (JsonNode)(double)v).ToArray()),
            ["image_std"] = new JsonArray(ClipStd.Select(v => (JsonNode)(double)v).ToArray()),
            ["rescale_factor"] = 0.00392156862745098,
            ["size"] = new JsonObject { ["height"] = imageSize, ["width"] = imageSize },
        };
        if (isV2)
        {
            pre["do_pad"] = true;
            pre["image_processor_type"] = "Owlv2ImageProcessor";
            pre["processor_class"] = "Owlv2Processor";
            pre["resample"] = 2;
        }
        else
        {
            pre["crop_size"] = new JsonObject { ["height"] = imageSize, ["width"] = imageSize };
            pre["do_center_crop"] = false;
            pre["image_processor_type"] = "OwlViTImageProcessor";
            pre["processor_class"] = "OwlViTProcessor";
            pre["resample"] = 3;
        }
        WriteJson(directory, "preprocessor_config.json", pre);
        WriteJson(directory, "tokenizer.json", vocabulary.TokenizerJson());
        WriteJson(directory, "tokenizer_config.json", new JsonObject
        {
            ["add_prefix_space"] = false,
            ["bos_token"] = "<|startoftext|>",
            ["clean_up_tokenization_spaces"] = true,
            ["do_lower_case"] = true,
            ["eos_token"] = "<|endoftext|>",
            ["errors"] = "replace",
            ["model_max_length"] = 16,
            ["pad_token"] = "!",
            ["processor_class"] = isV2 ? "Owlv2Processor" : "OwlViTProcessor",
            ["tokenizer_class"] = "CLIPTokenizer",
            ["unk_token"] = "<|endoftext|>",
        });
        WriteJson(directory, "special_tokens_map.json", new JsonObject
        {
            ["bos_token"] = "<|startoftext|>",
            ["eos_token"] = "<|endoftext|>",
            ["pad_token"] = "!",
            ["unk_token"] = "<|endoftext|>",
        });
        var vocabJson = new JsonObject();
        foreach (var (token, id) in vocabulary.Vocab.OrderBy(kv => kv.Value))
        {
            vocabJson[token] = id;
        }
        WriteJson(directory, "vocab.json", vocabJson);
        File.WriteAllLines(Path.Combine(directory, "merges.txt"),
            new[] { "#version: 0.2" }.Concat(vocabulary.Merges.Select(m => $"{m.Left} {m.Right}")));
        File.WriteAllBytes(Path.Combine(directory, "onnx", "model.onnx"), onnx);
    }

    private static void WriteJson(string directory, string file, JsonNode node) =>
        File.WriteAllText(Path.Combine(directory, file), node.ToJsonString(s_indented) + "\n");
}
