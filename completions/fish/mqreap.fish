# fish completion for mqreap(1)

# Queues are directories; with -k, also the dead letters in a QUEUE/dead/.
function __mqreap_operands
    set -l tok (commandline -ct)
    if string match -qr -- '^-\w*k' (commandline -opc); and string match -qr -- '(^|/)dead/[^/]*$' $tok
        for f in $tok*
            test -f $f; and echo $f
        end
    else
        __fish_complete_directories $tok
    end
end

complete -c mqreap -f
complete -c mqreap -s f -d 'Keep running, wake when something falls due'
complete -c mqreap -s k -d 'Send dead letters back to new/'
complete -c mqreap -s n -d 'Dry run: say what would be done'
complete -c mqreap -s s -d 'A summary line per queue'
complete -c mqreap -s v -d 'A line per action'
complete -c mqreap -s w -d 'Wait for a queue locked by another mqreap'
complete -c mqreap -a '(__mqreap_operands)'
