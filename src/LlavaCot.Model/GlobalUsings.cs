global using Linear = TorchSharp.Modules.Linear;
global using Parameter = TorchSharp.Modules.Parameter;
