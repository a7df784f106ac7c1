# fish completion for mqwait(1)

# The first operand is the queue, a directory; later ones are message ids.
function __mqwait_queue
    set -l args (commandline -opc)
    set -e args[1]
    set -l skip 0
    for a in $args
        if test $skip = 1
            set skip 0
        else if string match -qr -- '^-[qr]*t$' $a
            set skip 1
        else if not string match -q -- '-*' $a
            echo $a
            return 0
        end
    end
    return 1
end

function __mqwait_ids
    set -l queue (__mqwait_queue); or return
    for d in new cur ends
        for f in $queue/$d/*
            test -f $f; and string replace -r ',.*' '' -- (basename -- $f)
        end
    end
end

complete -c mqwait -f
complete -c mqwait -s q -d 'Print nothing: the exit status says how it ended'
complete -c mqwait -s r -d 'Print the results instead of how each ended'
complete -c mqwait -s t -x -a '30s 5m 1h' -d 'Give up after this long (exit 1)'
complete -c mqwait -n 'not __mqwait_queue' -a '(__fish_complete_directories)'
complete -c mqwait -n __mqwait_queue -a '(__mqwait_ids)'
