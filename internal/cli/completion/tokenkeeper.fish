# fish completion for tokenkeeper: tokenkeeper completion fish > ~/.config/fish/completions/tokenkeeper.fish
#
# The words typed so far go to `tokenkeeper __complete WORDS… CURRENT`, which
# prints one candidate a line (a tab, then a description, may follow) and a
# last line ":N": N's bit 4 says "no file names", bit 16 "directories only".
function __tokenkeeper_complete
    set -l words (commandline -opc)
    set -l out (command $words[1] __complete $words[2..-1] (commandline -ct) 2>/dev/null)
    or return
    set -l directive (string replace -- ':' '' $out[-1])
    set -e out[-1]
    if test (math "bitand($directive, 16)") -ne 0
        __fish_complete_directories (commandline -ct)
    else if test (count $out) -eq 0; and test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path (commandline -ct)
    else
        printf '%s\n' $out
    end
end
complete -c tokenkeeper -f -a '(__tokenkeeper_complete)'
