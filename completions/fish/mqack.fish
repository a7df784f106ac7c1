# fish completion for mqack(1)

# Claims are files in some QUEUE/cur/: directories on the way there, the
# files once inside one; with -q, the bare names in that queue's cur/.
function __mqack_claims
    set -l tok (commandline -ct)
    set -l args (commandline -opc)
    set -l queue
    for i in (seq (count $args))
        if test "$args[$i]" = -q
            set queue $args[(math $i + 1)]
        end
    end
    if test -n "$queue"; and not string match -q -- '*/*' $tok
        for f in $queue/cur/$tok*
            test -f $f; and basename -- $f
        end
        return
    end
    if string match -qr -- '(^|/)cur/[^/]*$' $tok
        for f in $tok*
            test -f $f; and echo $f
        end
    else
        __fish_complete_directories $tok
    end
end

complete -c mqack -f
complete -c mqack -s r -d 'Release the claims now'
complete -c mqack -s d -x -a '0 30s 5m 1h' -d 'Release, visible after a delay'
complete -c mqack -s t -x -a '30s 5m 1h' -d 'Extend: deadline now plus timeout'
complete -c mqack -s f -x -d 'Send to dead/ with a reason'
complete -c mqack -s R -r -F -d 'Acknowledge with a result (a file, - stdin)'
complete -c mqack -s q -x -a '(__fish_complete_directories)' -d 'Queue of bare handles'
complete -c mqack -a '(__mqack_claims)'
